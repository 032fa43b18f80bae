package propagate

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestPendingMatchesModel runs random holds (each its own batch, making room
// when the bound is reached), lessons that release a trace, timeouts and
// warming against a Store and a plain model (a slice of the pending chunks,
// oldest first), and compares after each step the chunks released, in
// order and with their reason, and, per trace, the chunks its head in
// the pending index leads to. Besides the real hash, hashes cut to 2 bits
// and to none put every trace in a few runs of slots, so that look-ups
// pass other traces' heads and removals move them back.
func TestPendingMatchesModel(t *testing.T) {
	runWithHashBits(t, 8, testPendingMatchesModel)
}

func testPendingMatchesModel(t *testing.T, seed, hashBits uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	const maxHeld = 24
	s := New(Config{Wait: time.Hour, MaxHeldItems: maxHeld, MaxTraces: 1 << 20})
	s.ids.index.hashBits = hashBits // the pending index takes its hashes
	o := s.Register(nil)

	type held struct {
		c    *Chunk
		data int
	}
	var model []held // pending, oldest first
	type out struct {
		data   int
		reason Reason
	}
	// Traces come from a pool of 12; a trace whose id is learned leaves
	// the pool for a new one (the Store releases a known trace's chunks
	// only once).
	pool := make([]pcommon.TraceID, 12)
	nextID := 0
	newID := func() pcommon.TraceID {
		nextID++
		return pcommon.TraceID{byte(nextID), byte(nextID >> 8), 7}
	}
	for i := range pool {
		pool[i] = newID()
	}
	takeReady := func() []out {
		var got []out
		for _, c := range s.ready {
			got = append(got, out{c.Data.(int), c.Reason})
		}
		s.ready = nil
		s.overflowed = 0
		return got
	}
	release := func(keep func(h held) bool, reason Reason) []out {
		var want []out
		model = slices.DeleteFunc(model, func(h held) bool {
			if keep(h) {
				return false
			}
			want = append(want, out{h.data, reason})
			return true
		})
		return want
	}

	for step := range 3000 {
		var want []out
		switch op := rng.IntN(10); {
		case op < 6: // hold
			tid := pool[rng.IntN(len(pool))]
			items := 1 + rng.IntN(4)
			total := 0
			for _, h := range model {
				total += h.c.Items
			}
			for total+items > maxHeld {
				want = append(want, out{model[0].data, ReasonOverflow})
				total -= model[0].c.Items
				model = model[1:]
			}
			txn := s.Begin()
			if rng.IntN(2) == 0 {
				txn.Warm([]pcommon.TraceID{tid, pool[rng.IntN(len(pool))]}, 0)
			}
			c := txn.HoldChunk(o, tid, step, items)
			txn.End()
			require.NotNil(t, c, "step %d", step)
			model = append(model, held{c, step})
		case op < 8: // the trace's id is learned
			i := rng.IntN(len(pool))
			tid := pool[i]
			pool[i] = newID()
			txn := s.Begin()
			txn.Learn(tid, "r")
			txn.End()
			want = release(func(h held) bool { return h.c.TraceID != tid }, ReasonRequestID)
		default: // the wait of the oldest few is over
			if len(model) == 0 {
				continue
			}
			now := model[rng.IntN(len(model))].c.deadline
			s.expire(now)
			want = release(func(h held) bool { return h.c.deadline.After(now) }, ReasonTimeout)
		}
		require.Equal(t, want, takeReady(), "step %d: released", step)

		// Per trace, the chunks its head leads to, oldest first.
		byTrace := map[pcommon.TraceID][]int{}
		for _, h := range model {
			byTrace[h.c.TraceID] = append(byTrace[h.c.TraceID], h.data)
		}
		require.Equal(t, len(byTrace), s.pending.len(), "step %d: traces pending", step)
		for _, tid := range pool {
			var got []int
			if h := s.pending.get(tid, s.ids.index.hash(tid)); h != nil {
				require.Same(t, h, s.pending.heads[h.pos], "step %d: head's position", step)
				for c := h; c != nil; c = c.tnext {
					got = append(got, c.Data.(int))
				}
				require.Equal(t, h.ttail.Data, got[len(got)-1], "step %d: tail", step)
			}
			require.Equal(t, byTrace[tid], got, "step %d: chunks of %v", step, tid)
		}
		live := 0
		for _, h := range s.pending.heads {
			if h != nil {
				live++
			}
		}
		require.Equal(t, s.pending.len(), live, "step %d: heads in use", step)
		requireTagsMatchSlots(t, &s.pending.index, step)
		requireTagsMatchSlots(t, &s.ids.index, step)
	}
}
