package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkScalingSpansPerTrace: cost per span as traces grow, each batch's
// roots arriving in the next batch (the dynamo processor holds the children
// until then).
func BenchmarkScalingSpansPerTrace(b *testing.B) {
	for _, n := range []int{2, 8, 32, 128} {
		w := NewSynthWorkload(SynthOptions{Traces: 16384 / n, SpansPerTrace: n, SpansPerBatch: 1024, RootsLate: true}).Freeze()
		for _, c := range processorCandidates {
			b.Run(fmt.Sprintf("spans=%d/%s", n, c.name), func(b *testing.B) { benchTraces(b, c, w) })
		}
	}
}

// BenchmarkScalingBatchSize: cost per span as the batches a collector hands
// the processor get smaller: the default mix of BenchmarkProcessor, each
// batch's roots in the next batch (as in traces_roots_late), in batches of
// 2, 12 and 64 requests (about 16, 100 and 500 spans). The pipeline
// benchmark's exports are about 100 spans; every batch brings its own copies
// of the resources (about 15 per batch here, whatever its size), and the
// processor's work per resource and per batch is shared by fewer spans.
func BenchmarkScalingBatchSize(b *testing.B) {
	for _, n := range []int{2, 12, 64} {
		w := NewWorkload(WorkloadOptions{Batches: 1024 / n, RequestsPerBatch: n, Generator: DefaultGenerator(), SplitRoots: true}).Freeze()
		for _, c := range processorCandidates {
			b.Run(fmt.Sprintf("requests=%d/%s", n, c.name), func(b *testing.B) { benchTraces(b, c, w) })
		}
	}
}

// BenchmarkScalingAttributes: cost per span as spans carry more attributes
// (besides Dynamo's own).
func BenchmarkScalingAttributes(b *testing.B) {
	for _, n := range []int{0, 8, 32, 128} {
		w := NewSynthWorkload(SynthOptions{Traces: 2048, SpansPerTrace: 8, ExtraAttributes: n, SpansPerBatch: 1024}).Freeze()
		for _, c := range processorCandidates {
			b.Run(fmt.Sprintf("attrs=%d/%s", n, c.name), func(b *testing.B) { benchTraces(b, c, w) })
		}
	}
}

// BenchmarkScalingHeldTraces: the dynamo processor with a given number of
// traces held for propagation (their roots never arrive within the
// benchmark): the cost per span of taking them in and the heap a held trace
// occupies (8 spans per trace, the 7 children held; the default
// max_held_items of 100000 bounds the total). One op holds every trace once;
// Shutdown releases them.
func BenchmarkScalingHeldTraces(b *testing.B) {
	for _, n := range []int{1000, 4000, 12000} {
		w := NewSynthWorkload(SynthOptions{Traces: n, SpansPerTrace: 8, SpansPerBatch: 1024, NoRoots: true}).Freeze()
		b.Run(fmt.Sprintf("traces=%d/dynamo", n), func(b *testing.B) {
			m := NewMeter(b)
			b.ReportAllocs()
			var heldBytes, dataBytes float64
			var m0, m1, m2 runtime.MemStats
			for range b.N {
				settle()
				runtime.ReadMemStats(&m0)
				clones := make([]ptrace.Traces, w.TraceBatches())
				for i := range clones {
					clones[i] = w.CloneTraces(i)
				}
				settle()
				runtime.ReadMemStats(&m1)
				sink := new(consumertest.TracesSink)
				p := newTracesProcessor(b, dynamoCandidate, sink)
				m.Start()
				for i := range clones {
					require.NoError(b, p.ConsumeTraces(context.Background(), clones[i]))
				}
				m.Stop()
				clones = nil
				settle()
				runtime.ReadMemStats(&m2)
				if sink.SpanCount() != 0 {
					b.Fatalf("%d spans passed without their trace's request id", sink.SpanCount())
				}
				heldBytes += float64(m2.HeapAlloc) - float64(m0.HeapAlloc)
				dataBytes += float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
				require.NoError(b, p.Shutdown(context.Background()))
				if sink.SpanCount() != w.Spans {
					b.Fatalf("%d of %d spans released on shutdown", sink.SpanCount(), w.Spans)
				}
			}
			m.Report(w.Spans*b.N, "span")
			// held-bytes: the heap a held trace occupies, its spans
			// included; data-bytes: the same spans as they arrived, before
			// the processor took them.
			b.ReportMetric(heldBytes/float64(b.N)/float64(n), "held-bytes/trace")
			b.ReportMetric(dataBytes/float64(b.N)/float64(n), "data-bytes/trace")
		})
	}
}
