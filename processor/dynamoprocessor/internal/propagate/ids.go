package propagate // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"

import (
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// idTable is the Store's memory of trace ids: per trace, its request id or
// that it has none, and when that was learned, oldest first.
//
// It is built for the garbage collector as much as for lookups. A gateway
// remembers up to max_traces (100 000 by default) traces for trace_ttl, so a
// table of pointers (one entry, one string per trace) would be most of the
// live objects every GC cycle has to mark, at any rate of spans. Here
// nothing the collector has to follow grows with the traces remembered: the
// index holds plain values, the entries sit in one slice of plain
// values linked by position, and the request ids are copied into append-only
// byte blocks shared by many ids, each found by block number and offset.
//
// The index is its own open-addressing hash table (see index.go), not a Go
// map: every root span looks up a trace that is not there yet, forgets the
// oldest and adds the new one, and in a map of 100 000 traces each of those
// walks a directory, a table and its groups, mostly cache misses.
type idTable struct {
	index   traceIndex
	entries []idEntry
	free    int32 // first free entry, linked by next; -1 when none
	// head and tail are the oldest and newest entries in use; -1 when empty.
	head, tail int32

	// base is the time added values count from (monotonic).
	base time.Time

	ids idBlocks

	// limit is the most entries the table will hold (max_traces); 0: no
	// limit. The entries grow up to it and no further.
	limit int
}

// idEntry is one remembered trace. It holds no pointer.
type idEntry struct {
	tid   pcommon.TraceID
	added time.Duration // since idTable.base
	xrid  idRef
	none  bool
	// self is the entry's position in idTable.entries; prev and next link
	// the entries in use, oldest first, or (next) the free entries.
	self, prev, next int32
}

// newIDTable returns an empty table for at most limit traces (0: no limit).
func newIDTable(limit int) idTable {
	return idTable{index: newTraceIndex(), free: -1, head: -1, tail: -1, base: time.Now(), limit: limit}
}

// len is the number of traces remembered.
func (t *idTable) len() int { return t.index.n }

// get returns the entry of tid, or nil.
func (t *idTable) get(tid pcommon.TraceID) *idEntry {
	if _, i := t.index.find(t.entries, tid); i >= 0 {
		return &t.entries[i]
	}
	return nil
}

// warm reads the index slots (and their tags) the look-ups of tids and of
// the oldest entries start at, then the entries of the tids' slots whose hash
// matches, and returns a sum of what it read (for the caller to keep).
// Within each pass the reads are independent of each other, so that their
// cache misses overlap. hashes is scratch space.
func (t *idTable) warm(tids []pcommon.TraceID, hashes *[]uint32, oldest int) uint64 {
	x := &t.index
	if x.slots == nil {
		return 0
	}
	var sum uint64
	hs := *hashes
	for _, tid := range tids {
		h := x.hash(tid)
		hs = append(hs, h)
		i := uint64(h) & x.mask
		sum += x.slots[i] + uint64(x.tags[i])
	}
	for i := t.head; i >= 0 && oldest > 0; i, oldest = t.entries[i].next, oldest-1 {
		h := x.hash(t.entries[i].tid)
		j := uint64(h) & x.mask
		sum += x.slots[j] + uint64(x.tags[j])
	}
	*hashes = hs
	for _, h := range hs {
		if s := x.slots[uint64(h)&x.mask]; s != 0 && uint32(s>>32) == h {
			sum += uint64(t.entries[int32(uint32(s))-1].tid[0])
		}
	}
	return sum
}

// oldest returns the oldest entry, or nil.
func (t *idTable) oldest() *idEntry {
	if t.head < 0 {
		return nil
	}
	return &t.entries[t.head]
}

// xrid returns the entry's request id. The string stays valid (and
// unchanged) after the entry is gone.
func (t *idTable) xrid(e *idEntry) string { return t.ids.get(e.xrid) }

// age is how long ago (as of now) the entry was learned.
func (t *idTable) age(e *idEntry, now time.Time) time.Duration {
	return now.Sub(t.base) - e.added
}

// insert adds a trace not in the table as the newest entry; the table keeps
// its own copy of xrid.
func (t *idTable) insert(tid pcommon.TraceID, xrid string, none bool, now time.Time) {
	i := t.free
	if i >= 0 {
		t.free = t.entries[i].next
	} else {
		i = int32(len(t.entries))
		if len(t.entries) == cap(t.entries) {
			t.grow()
		}
		t.entries = t.entries[:i+1]
	}
	t.entries[i] = idEntry{tid: tid, added: now.Sub(t.base), xrid: t.ids.put(xrid), none: none, self: i}
	t.link(i)
	t.index.add(tid, i)
}

// grow makes room for more entries: twice as many (minEntries at first),
// up to limit. append grows a large slice by a quarter: filling to 100 000
// traces, the entries would move into 28 new slices, copying 4.6 times
// their final size in all, each a large allocation that may first give
// pages back to the OS (the heap is growing). Doubling up to the limit
// takes 11 and copies 1.3 times, and the last is the limit's size.
func (t *idTable) grow() {
	n := max(minEntries, 2*cap(t.entries))
	if t.limit > 0 {
		n = max(min(n, t.limit), len(t.entries)+1)
	}
	grown := make([]idEntry, len(t.entries), n)
	copy(grown, t.entries)
	t.entries = grown
}

// minEntries is the entries' first capacity.
const minEntries = 64

// relearn gives an entry a new request id, learned now: it becomes the
// newest.
func (t *idTable) relearn(e *idEntry, xrid string, now time.Time) {
	i := e.self
	t.ids.release(e.xrid)
	e.xrid, e.none, e.added = t.ids.put(xrid), false, now.Sub(t.base)
	t.unlink(i)
	t.link(i)
}

// setID gives an entry that had none a request id; its age and place stay.
func (t *idTable) setID(e *idEntry, xrid string) {
	t.ids.release(e.xrid)
	e.xrid, e.none = t.ids.put(xrid), false
}

// remove forgets the entry.
func (t *idTable) remove(e *idEntry) {
	i := e.self
	slot, _ := t.index.find(t.entries, e.tid)
	t.index.removeAt(slot)
	t.ids.release(e.xrid)
	t.unlink(i)
	*e = idEntry{next: t.free}
	t.free = i
	if t.index.n == 0 {
		// Nothing remembered: let the entries, the index and the blocks
		// go, which also undoes any growth a burst of traces caused.
		t.entries, t.free, t.ids = nil, -1, idBlocks{}
		t.index.reset()
	}
}

func (t *idTable) link(i int32) {
	e := &t.entries[i]
	e.prev, e.next = t.tail, -1
	if t.tail < 0 {
		t.head = i
	} else {
		t.entries[t.tail].next = i
	}
	t.tail = i
}

func (t *idTable) unlink(i int32) {
	e := &t.entries[i]
	if e.prev < 0 {
		t.head = e.next
	} else {
		t.entries[e.prev].next = e.next
	}
	if e.next < 0 {
		t.tail = e.prev
	} else {
		t.entries[e.next].prev = e.prev
	}
	e.prev, e.next = -1, -1
}

// idBlockSize is the size of the blocks request ids are copied into. A block
// is freed once no remembered id is in it; a request id handed out keeps its
// block alive while the string lives (in a span on its way out), which is
// small next to the spans that carry it.
const idBlockSize = 16 << 10

// idRef locates a request id: n bytes at off in block blk. The zero idRef
// is the empty id.
type idRef struct{ blk, off, n uint32 }

// idBlocks are append-only byte blocks holding request ids. Bytes once
// written are never changed, so strings made over them stay valid for as
// long as they are referenced.
type idBlocks struct {
	// blocks[i] is block first+i; nil once freed.
	blocks []*idBlock
	first  uint32
}

type idBlock struct {
	buf  []byte
	live int // ids in the block still remembered
}

func (b *idBlocks) put(s string) idRef {
	if s == "" {
		return idRef{}
	}
	n := len(s)
	var blk *idBlock
	if k := len(b.blocks); k > 0 && b.blocks[k-1] != nil && cap(b.blocks[k-1].buf)-len(b.blocks[k-1].buf) >= n {
		blk = b.blocks[k-1]
	} else {
		if k := len(b.blocks); k > 0 && b.blocks[k-1] != nil && b.blocks[k-1].live == 0 {
			b.free(k - 1) // the block being filled, emptied meanwhile
		}
		blk = &idBlock{buf: make([]byte, 0, max(idBlockSize, n))}
		if len(b.blocks) == 0 {
			b.first = 1 // block 0 is reserved: the zero idRef is the empty id
		}
		b.blocks = append(b.blocks, blk)
	}
	off := len(blk.buf)
	blk.buf = append(blk.buf, s...)
	blk.live++
	return idRef{blk: b.first + uint32(len(b.blocks)-1), off: uint32(off), n: uint32(n)}
}

func (b *idBlocks) get(r idRef) string {
	if r.n == 0 {
		return ""
	}
	blk := b.blocks[r.blk-b.first]
	return unsafe.String(&blk.buf[r.off], int(r.n))
}

// release says an id is no longer remembered; a block left with none is
// freed, unless it is the one being filled.
func (b *idBlocks) release(r idRef) {
	if r.n == 0 {
		return
	}
	i := int(r.blk - b.first)
	blk := b.blocks[i]
	blk.live--
	if blk.live > 0 || i == len(b.blocks)-1 {
		return
	}
	b.free(i)
}

func (b *idBlocks) free(i int) {
	b.blocks[i] = nil
	// Drop freed blocks at the front, so that the slice tracks the blocks
	// in use.
	for len(b.blocks) > 1 && b.blocks[0] == nil {
		b.blocks[0] = nil
		b.blocks = b.blocks[1:]
		b.first++
	}
}
