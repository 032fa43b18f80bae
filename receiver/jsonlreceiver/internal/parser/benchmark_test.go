package parser

import (
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

var benchLines = map[string]string{
	"new_frontend": lineNewFrontend,
	"span_closed":  lineSpanClosed,
	"python":       linePython,
	"nested_error": lineError,
	"ansi_text":    lineANSI,
}

// BenchmarkParse measures one line into a log record appended to a batch, as
// the receiver does it.
func BenchmarkParse(b *testing.B) {
	for name, line := range benchLines {
		b.Run(name, func(b *testing.B) {
			in := []byte(line)
			var p Parser
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			lrs := plog.NewLogRecordSlice()
			for i := 0; b.Loop(); i++ {
				if i%100 == 0 {
					lrs = plog.NewLogRecordSlice()
				}
				p.Parse(in, lrs.AppendEmpty())
			}
		})
	}
}

// BenchmarkParseBaselineStdlib is the obvious alternative for comparison:
// encoding/json into map[string]any, then FromRaw into the attributes.
func BenchmarkParseBaselineStdlib(b *testing.B) {
	in := []byte(lineNewFrontend)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	lrs := plog.NewLogRecordSlice()
	for i := 0; b.Loop(); i++ {
		if i%100 == 0 {
			lrs = plog.NewLogRecordSlice()
		}
		var m map[string]any
		if err := json.Unmarshal(in, &m); err != nil {
			b.Fatal(err)
		}
		lr := lrs.AppendEmpty()
		_ = lr.Attributes().FromRaw(m)
	}
}

// dynamoLines returns n lines as Dynamo writes them, from the generator the
// end-to-end benchmarks use: every version and topology, span events on, a
// few system requests and failures, a vLLM Python line every 40 lines and a
// DYN_LOG_USE_LOCAL_TZ timestamp every 100.
func dynamoLines(n int) [][]byte {
	gen := telemetrygen.NewGenerator(telemetrygen.Options{SystemShare: 0.05, FailureShare: 0.02, SpanEvents: true, Seed: 42})
	start := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
	lines := make([][]byte, 0, n)
	for len(lines) < n {
		r := gen.Next(start)
		start = start.Add(time.Millisecond)
		for i := range r.JSONL {
			if len(lines) == n {
				break
			}
			l := r.JSONL[i]
			if len(lines)%40 == 39 {
				l = telemetrygen.JSONLLine{Time: l.Time, Level: "INFO", Target: "log",
					Message: "Engine 000: Avg prompt throughput: 1843.2 tokens/s, Avg generation throughput: 95.4 tokens/s",
					Fields: []telemetrygen.KV{
						{Key: "log.file", Value: "/opt/dynamo/venv/lib/python3.12/site-packages/vllm/v1/metrics/loggers.py"},
						{Key: "log.line", Value: int64(112)},
						{Key: "log.target", Value: "vllm.v1.metrics.loggers"},
					}}
			}
			if len(lines)%100 == 99 {
				l.Time = l.Time.In(time.FixedZone("", 2*3600))
			}
			lines = append(lines, telemetrygen.AppendJSONL(nil, &l))
		}
	}
	return lines
}

// BenchmarkParseDynamo parses a realistic mix of Dynamo lines in batches of
// 100 records, as the receiver does; one op is one line.
func BenchmarkParseDynamo(b *testing.B) {
	lines := dynamoLines(1000)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	var p Parser
	b.ReportAllocs()
	b.SetBytes(size / int64(len(lines)))
	lrs := plog.NewLogRecordSlice()
	for i := 0; b.Loop(); i++ {
		if i%100 == 0 {
			lrs = plog.NewLogRecordSlice()
			lrs.EnsureCapacity(100)
		}
		p.Parse(lines[i%len(lines)], lrs.AppendEmpty())
	}
}
