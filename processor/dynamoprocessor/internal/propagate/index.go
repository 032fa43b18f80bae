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
//
// A tagged index (the memory of traces; newTraceIndex) also keeps one
// byte per slot (tags): 0 for an empty slot, else 8 more bits of its key's
// hash. Its searches probe the tags and read a slot only where the tag
// matches. Many of its searches are for a trace that is not there and
// stays out (a log record whose trace's spans are not sampled, or have
// not come yet), and of 100 000 traces the slots are 2 MiB, more than
// stays in a core's cache beside the batches: the tags are an eighth of
// that, so such a search usually ends in the cache. Where nearly every
// search for a missing trace is followed by adding it (the pending
// chunks' index), the slot is read for the write anyway and the tags
// only add to what is read: that index has none.
type traceIndex struct {
	slots []uint64
	mask  uint64 // len(slots) - 1
	n     int
	keys  Hasher
	// hashBits keeps only some bits of every hash; tests lower it to force
	// collisions. All ones otherwise.
	hashBits uint64
	tags     []uint8 // tagged only: one per slot, 0 when empty, else tagOf its hash
	tagged   bool
}

const minIndexSlots = 16

// newTraceIndex returns an empty tagged index with a hash of its own.
func newTraceIndex() traceIndex {
	return traceIndex{keys: NewHasher(), hashBits: ^uint64(0), tagged: true}
}

func (x *traceIndex) hash(tid pcommon.TraceID) uint32 {
	return x.keys.Hash(tid) & uint32(x.hashBits)
}

// tagOf is the tag of a key with hash h: its top 8 bits (which choose no
// slot below 2^24 slots), 1 in place of 0.
func tagOf(h uint32) uint8 {
	if t := uint8(h >> 24); t != 0 {
		return t
	}
	return 1
}

// find returns the slot of tid and its entry's position, or the slot where
// tid would go and -1. The index is tagged.
func (x *traceIndex) find(entries []idEntry, tid pcommon.TraceID) (slot uint64, pos int32) {
	if x.slots == nil {
		return 0, -1
	}
	h := x.hash(tid)
	tag := tagOf(h)
	for i := uint64(h) & x.mask; ; i = (i + 1) & x.mask {
		t := x.tags[i]
		if t == 0 {
			return i, -1
		}
		if t != tag {
			continue
		}
		if s := x.slots[i]; uint32(s>>32) == h {
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
	h := uint32(s >> 32)
	i := uint64(h) & x.mask
	if !x.tagged {
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = s
		return
	}
	for x.tags[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = s
	x.tags[i] = tagOf(h)
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
			if x.tagged {
				x.tags[hole] = 0
			}
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
		if x.tagged {
			x.tags[hole] = x.tags[j]
		}
		hole = j
	}
}

// grow doubles the slots (minIndexSlots at first) and puts every key back.
func (x *traceIndex) grow() {
	old := x.slots
	n := max(minIndexSlots, 2*len(old))
	x.slots = make([]uint64, n)
	if x.tagged {
		x.tags = make([]uint8, n)
	}
	x.mask = uint64(n - 1)
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}

// reset lets the slots go (the index is empty).
func (x *traceIndex) reset() {
	x.slots, x.tags, x.mask, x.n = nil, nil, 0, 0
}
