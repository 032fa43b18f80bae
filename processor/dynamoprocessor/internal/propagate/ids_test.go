package propagate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// modelEntry and idModel are the plain version of idTable: a map and a slice
// in age order, with none of its layout.
type modelEntry struct {
	xrid  string
	none  bool
	added time.Time
}

type idModel struct {
	m     map[pcommon.TraceID]*modelEntry
	order []pcommon.TraceID
}

func (m *idModel) moveToBack(tid pcommon.TraceID) {
	m.order = slices.DeleteFunc(m.order, func(x pcommon.TraceID) bool { return x == tid })
	m.order = append(m.order, tid)
}

// TestIDTableMatchesModel runs random inserts, relearns, id changes and
// removals (oldest, or any), with warming in between, against idTable and
// the model, and compares every lookup, age and the order after each step.
// Ids of varied length fill and empty many blocks. The index runs with its
// real hash, and with hashes cut to 2 bits and to none, so that keys share
// runs of slots that wrap around the end and removals have to move keys
// back.
func TestIDTableMatchesModel(t *testing.T) {
	runWithHashBits(t, 10, testIDTableMatchesModel)
}

// runWithHashBits runs test with seeds 0 to seeds-1, with the index's real
// hash and with hashes cut to 2 bits and to none.
func runWithHashBits(t *testing.T, seeds uint64, test func(t *testing.T, seed, hashBits uint64)) {
	for _, bits := range []uint64{^uint64(0), 3, 0} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("hash_bits=%x/%d", bits, seed), func(t *testing.T) {
				test(t, seed, bits)
			})
		}
	}
}

func testIDTableMatchesModel(t *testing.T, seed, hashBits uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Limits from none to more than the 64 traces used, some below what
	// the model holds (the Store evicts before it inserts; the table
	// still takes what it is given).
	tbl := newIDTable(int(seed) * 9)
	tbl.index.hashBits = hashBits
	model := idModel{m: map[pcommon.TraceID]*modelEntry{}}
	now := tbl.base
	type handedOut struct{ view, copy string }
	var handed []handedOut // strings the table handed out, and what they said
	tid := func() pcommon.TraceID { return pcommon.TraceID{byte(rng.IntN(64)), 1} }
	xrid := func() string {
		return fmt.Sprintf("%0*d", 1+rng.IntN(300), rng.IntN(1e9))
	}
	var hashes []uint32
	for step := range 3000 {
		now = now.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
		id := tid()
		if rng.IntN(3) == 0 {
			// Warming reads only: the comparisons below would see
			// anything it changed.
			hashes = hashes[:0]
			tbl.warm([]pcommon.TraceID{id, tid(), id}, &hashes, rng.IntN(4))
		}
		e, me := tbl.get(id), model.m[id]
		require.Equal(t, me == nil, e == nil, "step %d", step)
		switch op := rng.IntN(5); {
		case e == nil && op < 4:
			x, none := xrid(), rng.IntN(4) == 0
			if none {
				x = ""
			}
			tbl.insert(id, x, none, now)
			model.m[id] = &modelEntry{xrid: x, none: none, added: now}
			model.order = append(model.order, id)
		case e == nil:
			if o := tbl.oldest(); o != nil {
				delete(model.m, o.tid)
				model.order = model.order[1:]
				tbl.remove(o)
			}
		case op == 0:
			x := xrid()
			tbl.relearn(e, x, now)
			me.xrid, me.none, me.added = x, false, now
			model.moveToBack(id)
		case op == 1:
			x := xrid()
			tbl.setID(e, x)
			me.xrid, me.none = x, false
		default:
			tbl.remove(e)
			delete(model.m, id)
			model.order = slices.DeleteFunc(model.order, func(x pcommon.TraceID) bool { return x == id })
		}
		// Compare everything.
		require.Equal(t, len(model.m), tbl.len())
		order := []pcommon.TraceID{}
		for i := tbl.head; i >= 0; i = tbl.entries[i].next {
			order = append(order, tbl.entries[i].tid)
		}
		require.Equal(t, append([]pcommon.TraceID{}, model.order...), order, "step %d", step)
		// The index holds each remembered trace once and stays at
		// most half full (empty, it lets its slots go).
		used := 0
		for _, s := range tbl.index.slots {
			if s != 0 {
				used++
			}
		}
		require.Equal(t, tbl.len(), used, "step %d", step)
		requireTagsMatchSlots(t, &tbl.index, step)
		require.LessOrEqual(t, 2*used, len(tbl.index.slots), "step %d", step)
		if tbl.len() == 0 {
			require.Nil(t, tbl.index.slots, "step %d", step)
		}
		for k, me := range model.m {
			e := tbl.get(k)
			require.NotNil(t, e)
			x := tbl.xrid(e)
			require.Equal(t, me.xrid, x)
			require.Equal(t, me.none, e.none)
			require.Equal(t, now.Sub(me.added), tbl.age(e, now))
			if x != "" && rng.IntN(20) == 0 {
				handed = append(handed, handedOut{x, string([]byte(x))})
			}
		}
	}
	// Every string the table handed out still says what it said,
	// though its entry is long gone and its block freed.
	for _, h := range handed {
		require.Equal(t, h.copy, h.view)
	}
	// Blocks in use track the ids remembered: at most one block
	// per id plus the one being filled.
	inUse := 0
	for _, b := range tbl.ids.blocks {
		if b != nil {
			inUse++
		}
	}
	require.LessOrEqual(t, inUse, tbl.len()+1)
}

// requireTagsMatchSlots checks that every tag of the index says what its
// slot holds: 0 for an empty slot, the tag of its hash otherwise. Searches
// read only the tags to find where a run ends, so a tag left behind by a
// removal, or missing after a move, loses keys or ends runs early.
func requireTagsMatchSlots(t *testing.T, x *traceIndex, step int) {
	t.Helper()
	if !x.tagged {
		require.Nil(t, x.tags, "step %d: tags of an untagged index", step)
		return
	}
	require.Len(t, x.tags, len(x.slots), "step %d", step)
	for i, s := range x.slots {
		want := uint8(0)
		if s != 0 {
			want = tagOf(uint32(s >> 32))
		}
		if x.tags[i] != want {
			require.Failf(t, "tag out of step with its slot", "step %d: slot %d holds %x, tag %d, want %d", step, i, s, x.tags[i], want)
		}
	}
}

// TestIDTableFreesBlocks remembers far more ids than fit in one block, in
// the way a gateway does (oldest forgotten first), and checks that the
// blocks in use stay those the remembered ids need.
func TestIDTableFreesBlocks(t *testing.T) {
	const keep = 1000
	tbl := newIDTable(0)
	now := time.Now()
	for i := range 200 * keep {
		if tbl.len() == keep {
			tbl.remove(tbl.oldest())
		}
		tbl.insert(numberedTraceID(i), fmt.Sprintf("%036d", i), false, now)
	}
	// 1000 ids of 36 bytes need 3 blocks of 16 KiB; allow one more being
	// filled.
	need := keep*36/idBlockSize + 2
	require.LessOrEqual(t, len(tbl.ids.blocks), need)
	last := 200*keep - 1
	require.Equal(t, fmt.Sprintf("%036d", last), tbl.xrid(tbl.get(numberedTraceID(last))))
	// Forgetting everything lets everything go.
	for tbl.len() > 0 {
		tbl.remove(tbl.oldest())
	}
	require.Empty(t, tbl.ids.blocks)
	require.Empty(t, tbl.entries)
}

// TestIDTableGrowsToItsLimit fills a table the way the Store does (the
// oldest forgotten at the limit) and checks that its entries double as it
// fills, stop at the limit, and are reused from then on.
func TestIDTableGrowsToItsLimit(t *testing.T) {
	for _, limit := range []int{1, minEntries, 1000, 100000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			tbl := newIDTable(limit)
			now := time.Now()
			var caps []int
			for i := range 2 * limit {
				if tbl.len() == limit {
					tbl.remove(tbl.oldest())
				}
				tbl.insert(numberedTraceID(i), "r", false, now)
				if c := cap(tbl.entries); len(caps) == 0 || caps[len(caps)-1] != c {
					caps = append(caps, c)
				}
			}
			want := []int{}
			for c := minEntries; c < limit; c *= 2 {
				want = append(want, c)
			}
			want = append(want, limit)
			require.Equal(t, want, caps)
			require.Len(t, tbl.entries, limit)
		})
	}
}

// TestIDTableInsertAllocatesPerBlockOnly checks the point of the layout:
// remembering a trace (once the table has grown) allocates nothing per
// trace, only a block now and then, so remembered traces add no objects
// for the garbage collector to mark.
func TestIDTableInsertAllocatesPerBlockOnly(t *testing.T) {
	const keep = 10000
	tbl := newIDTable(0)
	now := time.Now()
	ids := make([]string, 2*keep)
	for i := range ids {
		ids[i] = fmt.Sprintf("%036d", i)
	}
	i := 0
	insert := func() {
		if tbl.len() == keep {
			tbl.remove(tbl.oldest())
		}
		tbl.insert(numberedTraceID(i), ids[i%len(ids)], false, now)
		i++
	}
	for range keep {
		insert()
	}
	allocs := testing.AllocsPerRun(keep, insert)
	// One 16 KiB block per 455 ids of 36 bytes: 0.002 per insert.
	require.Less(t, allocs, 0.01)
}

func numberedTraceID(i int) pcommon.TraceID {
	var tid pcommon.TraceID
	tid[0], tid[1], tid[2], tid[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
	return tid
}

// TestIndexSpreadsStructuredTraceIDs fills an index with trace ids of the
// shapes clients send (random W3C ids; 64-bit ids, the upper half zero;
// counters in the low bytes, and in the high bytes) and checks that keys
// sit close to their home slot: at most half full, linear probing keeps
// the mean distance under one slot for a hash that spreads the keys. The
// keys are random per process, so it tries 64 sets of them besides the
// process's own: a single multiply of the two halves spread counters well
// with most keys but put them hundreds of slots from home with some, and
// hashing one half only, or dropping the product's high word, crowd
// counters with every key.
func TestIndexSpreadsStructuredTraceIDs(t *testing.T) {
	const n = 1 << 13
	rng := rand.New(rand.NewPCG(7, 7))
	shapes := map[string]func(i int) pcommon.TraceID{
		"random": func(int) pcommon.TraceID {
			var tid pcommon.TraceID
			binary.LittleEndian.PutUint64(tid[:8], rng.Uint64())
			binary.LittleEndian.PutUint64(tid[8:], rng.Uint64())
			return tid
		},
		"64_bit": func(int) pcommon.TraceID {
			var tid pcommon.TraceID
			binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
			return tid
		},
		"counter_low": func(i int) pcommon.TraceID {
			var tid pcommon.TraceID
			tid[0] = 0xab
			binary.BigEndian.PutUint64(tid[8:], uint64(i)<<8)
			return tid
		},
		"counter_high": func(i int) pcommon.TraceID {
			var tid pcommon.TraceID
			binary.BigEndian.PutUint64(tid[:8], uint64(i)<<16)
			tid[15] = 1
			return tid
		},
		"counter_le": func(i int) pcommon.TraceID {
			var tid pcommon.TraceID
			binary.LittleEndian.PutUint64(tid[8:], uint64(i))
			return tid
		},
	}
	keys := rand.New(rand.NewPCG(11, 13))
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			worst := 0.0
			for set := range 65 {
				tbl := newIDTable(0)
				if set > 0 {
					x := &tbl.index
					x.keys = Hasher{keys.Uint64(), keys.Uint64(), keys.Uint64(), keys.Uint64()}
				}
				for i := range n {
					tbl.insert(shape(i), "", true, tbl.base)
				}
				require.Equal(t, n, tbl.len())
				x := &tbl.index
				total := uint64(0)
				for i, s := range x.slots {
					if s == 0 {
						continue
					}
					home := uint64(uint32(s>>32)) & x.mask
					total += (uint64(i) - home) & x.mask
				}
				mean := float64(total) / n
				worst = max(worst, mean)
				require.Less(t, mean, 1.0, "key set %d", set)
			}
			t.Logf("worst mean distance from home: %.2f slots", worst)
		})
	}
}
