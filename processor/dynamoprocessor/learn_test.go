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
