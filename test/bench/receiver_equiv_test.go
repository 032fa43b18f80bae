package bench

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// recordView is a log record without its observed timestamp (the moment of
// reading, which differs from run to run).
type recordView struct {
	Resource     map[string]any
	Timestamp    int64
	Severity     plog.SeverityNumber
	SeverityText string
	Body         any
	TraceID      string
	SpanID       string
	Flags        uint32
	Attributes   map[string]any
}

func recordViews(lds []plog.Logs) []recordView {
	var out []recordView
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			res := rl.Resource().Attributes().AsRaw()
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, recordView{
						Resource:     res,
						Timestamp:    int64(lr.Timestamp()),
						Severity:     lr.SeverityNumber(),
						SeverityText: lr.SeverityText(),
						Body:         lr.Body().AsRaw(),
						TraceID:      lr.TraceID().String(),
						SpanID:       lr.SpanID().String(),
						Flags:        uint32(lr.Flags()),
						Attributes:   lr.Attributes().AsRaw(),
					})
				}
			}
		}
	}
	return out
}

// TestReceiversGiveTheSameRecords is the correctness check of
// BenchmarkReceiver: on the same file, file_log with the operators of
// testdata/filelog.yaml and the jsonl receiver produce the same records, so
// the benchmark compares the same work.
func TestReceiversGiveTheSameRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dynamo.log")
	lines, _, err := WriteLines(path, LinesOptions{Lines: 3000})
	require.NoError(t, err)
	got := map[string][]recordView{}
	for _, c := range receiverCandidates {
		var mu sync.Mutex
		var lds []plog.Logs
		readFile(t, c, path, lines, func(ld plog.Logs) {
			mu.Lock()
			defer mu.Unlock()
			cp := plog.NewLogs()
			ld.CopyTo(cp)
			lds = append(lds, cp)
		})
		got[c.name] = recordViews(lds)
	}
	jl, fl := got["jsonl"], got["file_log"]
	require.Len(t, jl, lines)
	require.Len(t, fl, lines)
	traced := 0
	for i := range jl {
		if !assert.Equal(t, fl[i], jl[i], "record %d", i) {
			break
		}
		if jl[i].TraceID != "" {
			traced++
		}
	}
	assert.Positive(t, traced)
	t.Logf("%d lines, %d with a trace context: the same records from both receivers", lines, traced)
}
