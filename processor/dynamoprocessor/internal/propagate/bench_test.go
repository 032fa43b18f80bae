package propagate

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// BenchmarkHoldFull holds one chunk after another in a Store already holding
// max_held_items items, so that every hold first releases the oldest chunk
// (the worst case of held items: ids that never come); chunks_per_trace is
// how many chunks each trace gets before the next trace's.
func BenchmarkHoldFull(b *testing.B) {
	for _, perTrace := range []int{1, 4} {
		b.Run(fmt.Sprintf("chunks_per_trace=%d", perTrace), func(b *testing.B) {
			const bound = 100_000
			s := New(Config{Wait: time.Hour, MaxHeldItems: bound, MaxTraces: bound})
			o := s.Register(func(context.Context, []*Chunk) {})
			hold := func(i int) {
				var id pcommon.TraceID
				binary.LittleEndian.PutUint64(id[:], uint64(i/perTrace)*0x9e3779b97f4a7c15)
				txn := s.Begin()
				if txn.HoldChunk(o, id, nil, 1) == nil {
					b.Fatal("not held")
				}
				if len(s.ready) >= 1024 {
					clear(s.ready)
					s.ready = s.ready[:0]
				}
				txn.End()
			}
			for i := range bound {
				hold(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				hold(bound + i)
			}
			b.StopTimer()
			if s.Held() != bound {
				b.Fatalf("%d items held, want %d", s.Held(), bound)
			}
		})
	}
}

// BenchmarkLearnFull learns the request id of one new trace after another
// in a Store that already remembers max_traces traces, so that every
// lesson first forgets the oldest trace: what a gateway does for each root
// span once it has run for a while. Trace ids are random, as in a fleet;
// one transaction (batch) teaches 16 of them. ns/op is per trace.
func BenchmarkLearnFull(b *testing.B) {
	const bound = 100_000
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	s := New(Config{Wait: time.Hour, MaxHeldItems: bound, MaxTraces: bound, TraceTTL: time.Hour})
	rng := rand.New(rand.NewPCG(1, 2))
	next := func() pcommon.TraceID {
		var id pcommon.TraceID
		binary.LittleEndian.PutUint64(id[:8], rng.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rng.Uint64())
		return id
	}
	const xrid = "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44"
	const perTxn = 16
	learn := func(n int) {
		for n > 0 {
			txn := s.Begin()
			for range min(n, perTxn) {
				txn.Learn(next(), xrid)
			}
			txn.End()
			n -= perTxn
		}
	}
	learn(bound)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportAllocs()
	b.ResetTimer()
	learn(b.N)
	b.StopTimer()
	if s.ids.len() != bound {
		b.Fatalf("%d traces remembered, want %d", s.ids.len(), bound)
	}
	// What a remembered trace occupies: its entry, its share of the index
	// and its 36-byte request id.
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/bound, "bytes/trace")
}
