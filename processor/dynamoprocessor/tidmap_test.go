package dynamoprocessor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestTidMapMatchesModel runs batches of random look-ups through one
// tidMap, reset between batches as batchScratch is, against a Go map made
// anew for each batch: ids drawn from a small pool recur within a batch
// and across batches, and batches of up to 3000 ids make it grow.
func TestTidMapMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	pool := make([]pcommon.TraceID, 5000)
	for i := range pool {
		binary.LittleEndian.PutUint64(pool[i][:8], rng.Uint64())
		binary.LittleEndian.PutUint64(pool[i][8:], rng.Uint64())
	}
	var m tidMap
	for batch := range 300 {
		m.reset()
		model := map[pcommon.TraceID]int32{}
		size := rng.IntN(3000) + 1
		for range size {
			tid := pool[rng.IntN(len(pool))]
			v, added := m.at(tid)
			want, ok := model[tid]
			require.Equal(t, !ok, added, "batch %d: added", batch)
			if ok {
				require.Equal(t, want, *v, "batch %d: value", batch)
			} else {
				require.Zero(t, *v, "batch %d: a new id's value", batch)
			}
			*v = rng.Int32()
			model[tid] = *v
		}
		require.Equal(t, len(model), m.n)
		for tid, want := range model {
			v, added := m.at(tid)
			require.False(t, added)
			require.Equal(t, want, *v)
		}
		require.LessOrEqual(t, 2*m.n, len(m.slots), "at most half full")
	}
}

// TestTidMapGenerationWraps: after 2³² resets the slots of the last
// generation must not look used in the first.
func TestTidMapGenerationWraps(t *testing.T) {
	var m tidMap
	m.reset()
	a := pcommon.TraceID{1}
	v, _ := m.at(a)
	*v = 7
	m.gen = math.MaxUint32 // as if 2³² - 2 more batches had passed
	for i := range m.slots {
		if m.slots[i].gen != 0 {
			m.slots[i].gen = m.gen
		}
	}
	m.reset()
	require.Equal(t, uint32(1), m.gen)
	_, added := m.at(a)
	require.True(t, added, "an id of the last generation is gone after the wrap")
	m.reset()
	_, added = m.at(a)
	require.True(t, added)
}

// TestTidMapSpreadsStructuredTraceIDs: ids that differ in a counter only
// (as some clients make them) stay near their home slots.
func TestTidMapSpreadsStructuredTraceIDs(t *testing.T) {
	var m tidMap
	m.reset()
	const n = 20000
	for i := range n {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(i))
		_, added := m.at(tid)
		require.True(t, added)
	}
	total := 0
	for i, s := range m.slots {
		if s.gen != m.gen {
			continue
		}
		home := int(tidKeys.Hash(s.tid) & m.mask)
		total += (i - home) & int(m.mask)
	}
	require.Less(t, float64(total)/n, 1.0, "mean distance from home")
}
