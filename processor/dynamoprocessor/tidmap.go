package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"
)

// tidMap maps the trace ids of one batch to an int32 each (the trace's
// index in batchScratch.traces, what the batch's lessons say of it). It
// lives in the batch's scratch and is emptied for every batch: reset
// ends a generation in O(1), where clearing a Go map visits all of its
// buckets, and a look-up is a keyed hash and a probe of neighbouring slots
// of one flat array (linear probing, at most half full).
type tidMap struct {
	slots []tidSlot
	mask  uint32 // len(slots) - 1
	gen   uint32 // the slots of this generation are in use; 0 before the first
	n     int
}

type tidSlot struct {
	tid pcommon.TraceID
	gen uint32
	val int32
}

const minTidMapSlots = 64

// tidKeys is the processors' key for tidMap hashes: trace ids come from
// clients, and with a predictable hash one batch could crowd a single run
// of slots.
var tidKeys = propagate.NewHasher()

// reset empties the map.
func (m *tidMap) reset() {
	m.n = 0
	m.gen++
	if m.gen == 0 {
		// After 2³² batches: slots last used 2³² generations ago would
		// otherwise look used again.
		clear(m.slots)
		m.gen = 1
	}
}

// at returns tid's value, added as 0 when tid is absent (added then
// true). The pointer is good until the next call of at.
func (m *tidMap) at(tid pcommon.TraceID) (v *int32, added bool) {
	if 2*(m.n+1) > len(m.slots) {
		m.grow()
	}
	for i := tidKeys.Hash(tid) & m.mask; ; i = (i + 1) & m.mask {
		s := &m.slots[i]
		if s.gen != m.gen {
			*s = tidSlot{tid: tid, gen: m.gen}
			m.n++
			return &s.val, true
		}
		if s.tid == tid {
			return &s.val, false
		}
	}
}

// grow doubles the slots, keeping the current generation's.
func (m *tidMap) grow() {
	if m.gen == 0 {
		m.gen = 1
	}
	old := m.slots
	m.slots = make([]tidSlot, max(minTidMapSlots, 2*len(old)))
	m.mask = uint32(len(m.slots) - 1)
	m.n = 0
	for _, s := range old {
		if s.gen == m.gen {
			// At most half of old was used: at does not grow again.
			v, _ := m.at(s.tid)
			*v = s.val
		}
	}
}
