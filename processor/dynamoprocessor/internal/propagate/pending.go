package propagate // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"

import "go.opentelemetry.io/collector/pdata/pcommon"

// pendingIndex finds, by trace id, the oldest pending chunk of a trace
// that has any (its head: the rest hang from it by Chunk.tnext).
//
// It is the Store's own hash index (a traceIndex, given the hashes the
// idTable's index computes, so that one hash serves both: it never hashes
// itself) over a slice of head pointers, not a Go map. With items held for
// traces whose request id never comes, every batch adds traces and, to
// make room, removes the oldest ones: in a Go map of that many traces each
// of those was a search through cold memory (directory, table, group), and
// together they were about a third of such a batch's processing. Here a
// search reads one slot, nearly always, and the head it points at, which
// the caller was going to read anyway; a head that leaves finds its own
// slot from the hash and position it keeps (Chunk.hash, Chunk.pos),
// comparing slots only, without hashing again. The slots and the slice
// grow with the traces pending, which max_held_items bounds, and are kept
// once grown; the slice's free positions are reused. The zero value is
// empty and ready.
type pendingIndex struct {
	index traceIndex // untagged (see traceIndex): the zero value
	heads []*Chunk   // by position; nil when free
	free  []int32
}

// len is the number of traces with pending chunks.
func (p *pendingIndex) len() int { return p.index.n }

// get returns the head of the trace whose id is tid and hash h, or nil.
func (p *pendingIndex) get(tid pcommon.TraceID, h uint32) *Chunk {
	if _, pos := p.find(tid, h); pos >= 0 {
		return p.heads[pos]
	}
	return nil
}

// find returns the slot and position of the head of tid (hash h), or -1
// as the position. It is traceIndex.find with the key read from the head.
func (p *pendingIndex) find(tid pcommon.TraceID, h uint32) (slot uint64, pos int32) {
	x := &p.index
	if x.n == 0 {
		return 0, -1
	}
	for i := uint64(h) & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return i, -1
		}
		if uint32(s>>32) == h {
			if q := int32(uint32(s)) - 1; p.heads[q].TraceID == tid {
				return i, q
			}
		}
	}
}

// add makes c, whose hash is set, the head of its trace, which has no
// pending chunk.
func (p *pendingIndex) add(c *Chunk) {
	var pos int32
	if n := len(p.free); n > 0 {
		pos = p.free[n-1]
		p.free = p.free[:n-1]
		p.heads[pos] = c
	} else {
		pos = int32(len(p.heads))
		p.heads = append(p.heads, c)
	}
	c.pos = pos
	p.index.addHashed(c.hash, pos)
}

// replace makes n, the next chunk of the trace of head c, its head.
func (p *pendingIndex) replace(c, n *Chunk) {
	n.pos = c.pos
	p.heads[c.pos] = n
}

// remove forgets the trace of head c, which has no other pending chunk.
func (p *pendingIndex) remove(c *Chunk) {
	p.removeAt(p.index.slotOf(c.hash, c.pos), c.pos)
}

// removeAt forgets the trace at slot and position pos (from find).
func (p *pendingIndex) removeAt(slot uint64, pos int32) {
	p.index.removeAt(slot)
	p.heads[pos] = nil
	if p.index.n == 0 {
		// The slots are all empty again; the positions start over.
		p.heads, p.free = p.heads[:0], p.free[:0]
		return
	}
	p.free = append(p.free, pos)
}
