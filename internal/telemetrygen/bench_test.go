package telemetrygen

import (
	"testing"
	"time"
)

// BenchmarkNext measures building one request (spans, log records, JSONL
// lines) of a mixed workload.
func BenchmarkNext(b *testing.B) {
	g := NewGenerator(Options{Seed: 1, LogsPerRequest: 3, SpanEvents: true, SystemShare: 0.1, FailureShare: 0.05})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		g.Next(now)
	}
}

// BenchmarkAppendJSONL measures encoding one JSONL line in Dynamo's key order.
func BenchmarkAppendJSONL(b *testing.B) {
	r := NewGenerator(Options{Seed: 1, Versions: []Version{VersionNew}, Topologies: []Topology{TopologyDisaggregated}}).Next(time.Now())
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		for i := range r.JSONL {
			buf = AppendJSONL(buf[:0], &r.JSONL[i])
		}
	}
	b.ReportMetric(float64(len(r.JSONL)), "lines/op")
}

// BenchmarkTracesBuilder measures turning 100 requests into one OTLP export.
func BenchmarkTracesBuilder(b *testing.B) {
	g := NewGenerator(Options{Seed: 1, LogsPerRequest: 3})
	reqs := make([]*Request, 100)
	for i := range reqs {
		reqs[i] = g.Next(time.Now())
	}
	b.ReportAllocs()
	spans := 0
	for b.Loop() {
		tb := NewTracesBuilder()
		lb := NewLogsBuilder()
		for _, r := range reqs {
			tb.Add(r, AllSpans)
			lb.Add(r)
		}
		spans = tb.Len()
	}
	b.ReportMetric(float64(spans), "spans/op")
}
