package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
goarch: amd64
cpu: AMD EPYC
BenchmarkProcessor/traces/dynamo-2   20  1036288 ns/op  3.0 allocs/span  2000000 spans/cpu-s
BenchmarkProcessor/traces/transform-2  20  29176471 ns/op  47 allocs/span  100000 spans/cpu-s
BenchmarkProcessor/traces/dynamo-2   20  1036288 ns/op  3.0 allocs/span  1000000 spans/cpu-s
BenchmarkProcessor/traces/transform-2  20  29176471 ns/op  47 allocs/span  200000 spans/cpu-s
BenchmarkProcessor/traces/dynamo-2   20  1036288 ns/op  3.0 allocs/span  3000000 spans/cpu-s
BenchmarkProcessor/traces/transform-2  20  29176471 ns/op  47 allocs/span  150000 spans/cpu-s
BenchmarkPipeline/rate=10k/dynamo-2  1  1 ns/op  11 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/stock-2  1  1 ns/op  10 cpu-%/10k-spans/s
BenchmarkPipelineParts/rate=10k/dynamo-2  1  1 ns/op  11 cpu-%/10k-spans/s
BenchmarkPipelineParts/rate=10k/stock-2  1  1 ns/op  10 cpu-%/10k-spans/s
BenchmarkPipelineParts/rate=10k/no_propagation-2  1  1 ns/op  10.5 cpu-%/10k-spans/s
BenchmarkPipelineParts/rate=10k/rules_off-2  1  1 ns/op  10.2 cpu-%/10k-spans/s
BenchmarkReceiver/jsonl-2  3  1 ns/op  250000 lines/cpu-s
BenchmarkReceiver/file_log-2  3  1 ns/op  50000 lines/cpu-s
PASS
ok  	x	1.0s
`

func TestTables(t *testing.T) {
	var out strings.Builder
	n, failed, err := run(strings.NewReader(sample), &out)
	require.NoError(t, err)
	assert.False(t, failed)
	assert.Equal(t, 4, n)
	s := out.String()
	// Medians of three runs: 2M and 150k. The ratio is the median of the
	// rounds' ratios (20×, 5×, 20×), not the ratio of the medians (13.3×),
	// with the lowest and highest.
	assert.Contains(t, s, "| traces | 2.00M | 3.00 | 150k | 47.0 | 20.0× (5.0–20.0×) | 3 |")
	assert.Contains(t, s, "| dynamo ÷ transform per round | runs |")
	// One run each: the ratio alone.
	assert.Contains(t, s, "| rate=10k |  | 11.0 |  |  |  | 10.0 |  |  | +10.0 % | 1 |")
	assert.Contains(t, s, "| (all) | 250k |  |  | 50k |  |  | 5.0× | 1 |")
	// Every other candidate compared with the same base, in the spec's order.
	assert.Contains(t, s, "| dynamo cpu-%/10k-spans/s | dynamo peak-rss-MiB | dynamo out-bytes/span | stock cpu-%/10k-spans/s |")
	assert.Contains(t, s, "| dynamo overhead per round | no_propagation overhead per round | rules_off overhead per round | runs |")
	assert.Contains(t, s, "| +10.0 % | +5.0 % | +2.0 % | 1 |")
}

// TestRatiosPerRound checks the pairing of rounds for costs (times faster)
// and overheads, and the fallback when the two sides ran a different number
// of times.
func TestRatiosPerRound(t *testing.T) {
	const in = `BenchmarkScalingAttributes/attrs=8/dynamo-2  1  1 ns/op  500 cpu-ns/span
BenchmarkScalingAttributes/attrs=8/transform-2  1  1 ns/op  6000 cpu-ns/span
BenchmarkScalingAttributes/attrs=8/dynamo-2  1  1 ns/op  1000 cpu-ns/span
BenchmarkScalingAttributes/attrs=8/transform-2  1  1 ns/op  7000 cpu-ns/span
BenchmarkScalingAttributes/attrs=8/dynamo-2  1  1 ns/op  400 cpu-ns/span
BenchmarkScalingAttributes/attrs=8/transform-2  1  1 ns/op  4000 cpu-ns/span
BenchmarkPipeline/rate=10k/dynamo-2  1  1 ns/op  11 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/stock-2  1  1 ns/op  10 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/dynamo-2  1  1 ns/op  12 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/stock-2  1  1 ns/op  12.5 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/dynamo-2  1  1 ns/op  13 cpu-%/10k-spans/s
BenchmarkPipeline/rate=10k/stock-2  1  1 ns/op  10 cpu-%/10k-spans/s
BenchmarkReceiver/jsonl-2  3  1 ns/op  250000 lines/cpu-s
BenchmarkReceiver/jsonl-2  3  1 ns/op  300000 lines/cpu-s
BenchmarkReceiver/file_log-2  3  1 ns/op  50000 lines/cpu-s
`
	var out strings.Builder
	n, failed, err := run(strings.NewReader(in), &out)
	require.NoError(t, err)
	assert.False(t, failed)
	assert.Equal(t, 3, n)
	s := out.String()
	// Rounds 12×, 7×, 10× faster: median 10×.
	assert.Contains(t, s, "| 10.0× faster (7.0–12.0×) | 3 |")
	// Rounds +10 %, −4 %, +30 %: median +10 %.
	assert.Contains(t, s, "| +10.0 % (-4.0 to +30.0 %) | 3 |")
	// Two runs against one: no rounds to pair, the medians' ratio.
	assert.Contains(t, s, "| 5.5× (of medians) | 2 |")
}

func TestFailedRun(t *testing.T) {
	_, failed, err := run(strings.NewReader(sample+"--- FAIL: BenchmarkX\nFAIL\n"), new(strings.Builder))
	require.NoError(t, err)
	assert.True(t, failed)
}
