package dynamoprocessor

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// TestAddLearnedTeachesTheStoreTheSame checks that the lessons addLearned
// keeps of a batch leave the store knowing exactly what all of them would:
// random batches of request ids and id-less roots over a few traces, some
// already known to the store, applied in full to one store and as kept to
// another.
func TestAddLearnedTeachesTheStoreTheSame(t *testing.T) {
	cfg := propagate.Config{Wait: time.Second, MaxHeldItems: 100, MaxTraces: 1000, TraceTTL: time.Hour}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 2))
		all, kept := propagate.New(cfg), propagate.New(cfg)
		var sc batchScratch
		tids := make([]pcommon.TraceID, 6)
		for i := range tids {
			tids[i] = pcommon.TraceID{byte(i + 1)}
		}
		for batch := range 4 {
			sc.reset()
			var full []learned
			for range rng.IntN(30) {
				l := learned{tid: tids[rng.IntN(len(tids))]}
				if rng.IntN(3) == 0 {
					l.none = true
				} else {
					l.xrid = fmt.Sprint("id-", rng.IntN(3))
				}
				full = append(full, l)
				sc.addLearned(l)
			}
			require.LessOrEqual(t, len(sc.learn), len(full))
			ta, tk := all.Begin(), kept.Begin()
			learnAll(&ta, full)
			learnAll(&tk, sc.learn)
			for _, tid := range tids {
				xa, sa := ta.Lookup(tid)
				xk, sk := tk.Lookup(tid)
				require.Equal(t, sa, sk, "seed %d batch %d trace %v", seed, batch, tid)
				require.Equal(t, xa, xk, "seed %d batch %d trace %v", seed, batch, tid)
			}
			ta.End()
			tk.End()
		}
	}
}

// TestAddLearnedKeepsOneLessonPerTrace: the spans of a trace repeat its id
// across the resources of a batch; the store hears it once, and a root
// without an id after it not at all, but an id after such a root still
// counts.
func TestAddLearnedKeepsOneLessonPerTrace(t *testing.T) {
	a, b := pcommon.TraceID{1}, pcommon.TraceID{2}
	var sc batchScratch
	sc.reset()
	for _, l := range []learned{
		{tid: a, xrid: "x"}, {tid: b, none: true}, {tid: a, xrid: "x"},
		{tid: a, none: true}, {tid: b, xrid: "y"}, {tid: b, none: true}, {tid: b, xrid: "z"},
	} {
		sc.addLearned(l)
	}
	require.Equal(t, []learned{{tid: a, xrid: "x"}, {tid: b, none: true}, {tid: b, xrid: "y"}}, sc.learn)
	sc.reset()
	sc.addLearned(learned{tid: a, xrid: "x"})
	require.Equal(t, []learned{{tid: a, xrid: "x"}}, sc.learn, "a new batch starts afresh")
}

// TestLookupCacheKeepsEachTraceItsOwnAnswer looks up traces that share a
// slot of the lookupCache and one that does not, interleaved as the runs of
// a batch's resources are. Each answer must be its own trace's; a trace
// still in its slot is answered from the cache (the store is changed behind
// it to tell), one whose slot another took is looked up again, and begin
// (the next batch) forgets every answer.
func TestLookupCacheKeepsEachTraceItsOwnAnswer(t *testing.T) {
	s := propagate.New(propagate.Config{Wait: time.Second, MaxHeldItems: 100, MaxTraces: 1000, TraceTTL: time.Hour})
	// a, b and c share a slot (the same last byte); d has one of its own.
	a := pcommon.TraceID{1, 15: 7}
	b := pcommon.TraceID{2, 15: 7}
	c := pcommon.TraceID{3, 15: 7 + lookupSlots}
	d := pcommon.TraceID{4, 15: 8}
	txn := s.Begin()
	defer txn.End()
	txn.Learn(a, "id-a")
	txn.LearnNone(b)

	var cache lookupCache
	cache.begin()
	check := func(tid pcommon.TraceID, wantID string, want propagate.State) {
		t.Helper()
		xrid, state := cache.lookup(&txn, tid)
		require.Equal(t, want, state, "trace %v", tid)
		require.Equal(t, wantID, xrid, "trace %v", tid)
	}
	check(a, "id-a", propagate.Known)
	check(d, "", propagate.Unknown)
	txn.Learn(d, "id-d")
	check(d, "", propagate.Unknown) // still in its slot: the cache answers
	check(b, "", propagate.None)    // takes a's slot
	check(a, "id-a", propagate.Known)
	check(d, "", propagate.Unknown) // a and b did not touch d's slot
	check(c, "", propagate.Unknown)
	txn.Learn(c, "id-c")
	check(b, "", propagate.None)
	check(c, "id-c", propagate.Known) // b took the slot: looked up again
	check(pcommon.TraceID{}, "", propagate.Unknown)
	txn.Learn(pcommon.TraceID{}, "id-empty")
	check(pcommon.TraceID{}, "id-empty", propagate.Known) // never cached

	// The next batch asks the store again.
	cache.begin()
	check(d, "id-d", propagate.Known)
}

// TestWarmListsEveryTraceOfTheBatch checks the trace ids a batch hands
// propagate.Txn.Warm: every trace it learns or looks up, a trace whose runs
// come apart noted again once another took its slot, and nothing of an
// earlier batch.
func TestWarmListsEveryTraceOfTheBatch(t *testing.T) {
	// a and b share a slot (the same last byte); c has one of its own.
	a := pcommon.TraceID{1, 15: 7}
	b := pcommon.TraceID{2, 15: 7 + lookupSlots}
	c := pcommon.TraceID{3, 15: 8}
	var sc batchScratch
	sc.reset()
	for _, tid := range []pcommon.TraceID{a, a, c, a, b, c, a} {
		sc.addLookup(tid)
	}
	sc.addLearned(learned{tid: c, xrid: "id-c"})
	require.Equal(t, []pcommon.TraceID{a, c, b, a, c}, sc.warm)

	sc.reset()
	sc.addLookup(a)
	sc.addLearned(learned{tid: b, none: true})
	require.Equal(t, []pcommon.TraceID{a, b}, sc.warm)
}
