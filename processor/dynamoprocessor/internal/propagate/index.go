package propagate // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceIndex finds an idTable entry by trace id: open addressing with
// linear probing in one array of slots, at most half full, so that a look-up
// (found or not) reads one or two neighbouring slots, nearly always one
// cache line. A slot packs the low 32 bits of the key's hash (the slot the
// key belongs in, and a tag that rules out most other keys without reading
// their entry) with the entry's position + 1; 0 is an empty slot.
// Removal moves later keys of the same run back (backward-shift deletion),
// so there are no tombstones to lengthen later searches. Nothing in it is a
// pointer the garbage collector follows. The hash is a Hasher's, keyed
// per process.
type traceIndex struct {
	slots []uint64
	mask  uint64 // len(slots) - 1
	n     int
	keys  Hasher
	// hashBits keeps only some bits of every hash; tests lower it to force
	// collisions. All ones otherwise.
	hashBits uint64
}

const minIndexSlots = 16

func newTraceIndex() traceIndex {
	return traceIndex{keys: NewHasher(), hashBits: ^uint64(0)}
}

func (x *traceIndex) hash(tid pcommon.TraceID) uint32 {
	return x.keys.Hash(tid) & uint32(x.hashBits)
}

// find returns the slot of tid and its entry's position, or the slot where
// tid would go and -1.
func (x *traceIndex) find(entries []idEntry, tid pcommon.TraceID) (slot uint64, pos int32) {
	if x.slots == nil {
		return 0, -1
	}
	h := x.hash(tid)
	for i := uint64(h) & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return i, -1
		}
		if uint32(s>>32) == h {
			if p := int32(uint32(s)) - 1; entries[p].tid == tid {
				return i, p
			}
		}
	}
}

// add indexes a trace that is not in the index at position pos.
func (x *traceIndex) add(tid pcommon.TraceID, pos int32) {
	x.addHashed(x.hash(tid), pos)
}

// addHashed is add given the trace id's hash h.
func (x *traceIndex) addHashed(h uint32, pos int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(uint64(h)<<32 | uint64(uint32(pos+1)))
	x.n++
}

// slotOf returns the slot of the key with hash h at position pos, which is
// in the index: a search that compares slots only, reading no entry.
func (x *traceIndex) slotOf(h uint32, pos int32) uint64 {
	want := uint64(h)<<32 | uint64(uint32(pos+1))
	i := uint64(h) & x.mask
	for n := 0; x.slots[i] != want; n++ {
		if n == len(x.slots) {
			panic("propagate: a key is missing from its index")
		}
		i = (i + 1) & x.mask
	}
	return i
}

// place puts slot value s (hash bits and position) in the first empty slot
// from its home on.
func (x *traceIndex) place(s uint64) {
	i := uint64(uint32(s>>32)) & x.mask
	for x.slots[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = s
}

// removeAt empties a slot found by find, moving back the keys after it that
// would no longer be found past the hole.
func (x *traceIndex) removeAt(hole uint64) {
	x.n--
	for j := hole; ; {
		j = (j + 1) & x.mask
		s := x.slots[j]
		if s == 0 {
			x.slots[hole] = 0
			return
		}
		// The key at j stays if its home slot lies cyclically in
		// (hole, j]: it is found before the hole is reached.
		home := uint64(uint32(s>>32)) & x.mask
		if hole <= j {
			if hole < home && home <= j {
				continue
			}
		} else if hole < home || home <= j {
			continue
		}
		x.slots[hole] = s
		hole = j
	}
}

// grow doubles the slots (minIndexSlots at first) and puts every key back.
func (x *traceIndex) grow() {
	old := x.slots
	x.slots = make([]uint64, max(minIndexSlots, 2*len(old)))
	x.mask = uint64(len(x.slots) - 1)
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}

// reset lets the slots go (the index is empty).
func (x *traceIndex) reset() {
	x.slots, x.mask, x.n = nil, 0, 0
}
