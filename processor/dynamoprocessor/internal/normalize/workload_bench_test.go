package normalize

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
)

// benchWorkload is one batch of Dynamo-shaped spans and OTLP log records of
// every version and topology (with system endpoints, failures and aliases of
// the caller's request id), each item carrying extra user attributes after
// Dynamo's own.
func benchWorkload(extra int) (ptrace.Traces, plog.Logs) {
	gen := telemetrygen.NewGenerator(telemetrygen.Options{
		SystemShare: 0.05, FailureShare: 0.02, LogsPerRequest: 6, AliasShare: 0.2, Seed: 42,
	})
	tb, lb := telemetrygen.NewTracesBuilder(), telemetrygen.NewLogsBuilder()
	start := time.Date(2026, 7, 30, 18, 4, 11, 0, time.UTC)
	for i := range 128 {
		r := gen.Next(start.Add(time.Duration(i) * time.Millisecond))
		tb.Add(r, telemetrygen.AllSpans)
		lb.Add(r)
	}
	td, ld := tb.Traces(), lb.Logs()
	keys := make([]string, extra)
	for i := range keys {
		keys[i] = fmt.Sprintf("extra.attribute_%03d", i)
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				for _, k := range keys {
					s.Attributes().PutStr(k, "value of a user attribute")
				}
			}
		}
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				for _, k := range keys {
					lr.Attributes().PutStr(k, "value of a user attribute")
				}
			}
		}
	}
	return td, ld
}

// itemMeter accumulates the time and allocations of the measured sections
// of a benchmark whose every op needs a fresh copy of its input.
type itemMeter struct {
	b      *testing.B
	items  int
	start  time.Time
	m0, m1 runtime.MemStats
	ns     time.Duration
	allocs uint64
}

func (m *itemMeter) begin() {
	runtime.ReadMemStats(&m.m0)
	m.start = time.Now()
}

func (m *itemMeter) end(items int) {
	m.ns += time.Since(m.start)
	runtime.ReadMemStats(&m.m1)
	m.allocs += m.m1.Mallocs - m.m0.Mallocs
	m.items += items
}

func (m *itemMeter) report(unit string) {
	if m.items == 0 {
		return
	}
	m.b.ReportMetric(float64(m.ns.Nanoseconds())/float64(m.items), "ns/"+unit)
	m.b.ReportMetric(float64(m.allocs)/float64(m.items), "allocs/"+unit)
}

// BenchmarkWorkloadSpans: every rule over the spans of benchWorkload, one
// resource at a time as the processor calls them.
func BenchmarkWorkloadSpans(b *testing.B) {
	for _, extra := range []int{0, 8, 32, 128} {
		b.Run(fmt.Sprintf("attrs=%d", extra), func(b *testing.B) {
			src, _ := benchWorkload(extra)
			n := New(Defaults())
			m := itemMeter{b: b}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				td := ptrace.NewTraces()
				src.CopyTo(td)
				runtime.GC()
				var st Stats
				m.begin()
				b.StartTimer()
				for _, rs := range td.ResourceSpans().All() {
					var state ResourceState
					n.BeginResource(&state, rs.Resource())
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							n.Span(&state, s, &st)
						}
					}
					n.EndResource(&state, rs.Resource())
				}
				b.StopTimer()
				m.end(td.SpanCount())
			}
			m.report("span")
		})
	}
}

// BenchmarkWorkloadLogs: the log-record rules over the records of
// benchWorkload.
func BenchmarkWorkloadLogs(b *testing.B) {
	for _, extra := range []int{0, 8, 32, 128} {
		b.Run(fmt.Sprintf("attrs=%d", extra), func(b *testing.B) {
			_, src := benchWorkload(extra)
			n := New(Defaults())
			m := itemMeter{b: b}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				ld := plog.NewLogs()
				src.CopyTo(ld)
				runtime.GC()
				var st Stats
				m.begin()
				b.StartTimer()
				for _, rl := range ld.ResourceLogs().All() {
					var state ResourceState
					n.BeginResource(&state, rl.Resource())
					for _, sl := range rl.ScopeLogs().All() {
						for _, lr := range sl.LogRecords().All() {
							n.LogRecord(&state, lr, &st)
						}
					}
					n.EndResource(&state, rl.Resource())
				}
				b.StopTimer()
				m.end(ld.LogRecordCount())
			}
			m.report("record")
		})
	}
}
