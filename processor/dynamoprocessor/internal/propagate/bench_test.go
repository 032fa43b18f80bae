package propagate

import (
	"context"
	"encoding/binary"
	"fmt"
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
