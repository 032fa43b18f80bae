package lokipush

import (
	"encoding/hex"
	"unsafe"

	"github.com/grafana/loki/pkg/push"
)

// arena hands out the small per-entry pieces of one Group call (structured
// metadata slices, hex trace and span ids, json and logfmt lines) from a few large blocks instead of
// one allocation each. Blocks are only ever appended to, so what was handed
// out never changes.
type arena struct {
	pairs []push.LabelAdapter
	text  []byte
	// scratch is where json and logfmt lines are built before str copies
	// them into text.
	scratch []byte
}

const (
	arenaPairs = 4096
	arenaText  = 32 << 10
)

// labels returns an empty slice with room for n pairs.
func (a *arena) labels(n int) push.LabelsAdapter {
	if cap(a.pairs)-len(a.pairs) < n {
		a.pairs = make([]push.LabelAdapter, 0, max(arenaPairs, n))
	}
	start := len(a.pairs)
	a.pairs = a.pairs[:start+n]
	return a.pairs[start : start : start+n]
}

// hex returns id in lowercase hex.
func (a *arena) hex(id []byte) string {
	n := hex.EncodedLen(len(id))
	if cap(a.text)-len(a.text) < n {
		a.text = make([]byte, 0, max(arenaText, n))
	}
	start := len(a.text)
	a.text = hex.AppendEncode(a.text, id)
	return unsafe.String(&a.text[start], n)
}

// str returns a copy of b.
func (a *arena) str(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if cap(a.text)-len(a.text) < n {
		a.text = make([]byte, 0, max(arenaText, n))
	}
	start := len(a.text)
	a.text = append(a.text, b...)
	return unsafe.String(&a.text[start], n)
}
