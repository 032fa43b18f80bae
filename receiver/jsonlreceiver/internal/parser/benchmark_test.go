package parser

import (
	"encoding/json"
	"testing"

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

// dynamoLines returns the first n lines of the benchmarks' mix
// (telemetrygen.LineMix).
func dynamoLines(n int) [][]byte {
	lines := make([][]byte, 0, n)
	for l := range telemetrygen.LineMix(42) {
		if len(lines) == n {
			break
		}
		lines = append(lines, telemetrygen.AppendJSONL(nil, &l))
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
