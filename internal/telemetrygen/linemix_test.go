package telemetrygen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLineMix checks the mix the log benchmarks read: the same lines for the
// same seed, a vLLM line in place of every 40th, the local-time form for
// every 100th and the generator's lines otherwise.
func TestLineMix(t *testing.T) {
	take := func(seed uint64, n int) []JSONLLine {
		var out []JSONLLine
		for l := range LineMix(seed) {
			if len(out) == n {
				break
			}
			out = append(out, l)
		}
		return out
	}
	lines := take(7, 400)
	require.Len(t, lines, 400)
	require.Equal(t, lines, take(7, 400), "reproducible")
	vllm, local := 0, 0
	for i, l := range lines {
		if i%40 == 39 {
			require.Equal(t, "vllm.v1.metrics.loggers", l.Fields[2].Value, "line %d", i)
			vllm++
		} else {
			require.NotEqual(t, "log", l.Target, "line %d", i)
		}
		if i%100 == 99 {
			require.NotEqual(t, time.UTC, l.Time.Location(), "line %d", i)
			local++
		} else {
			require.Equal(t, time.UTC, l.Time.Location(), "line %d", i)
		}
	}
	require.Equal(t, 10, vllm)
	require.Equal(t, 4, local)
}
