package parser

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
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
