package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// decoder is a minimal JSON reader over one line. It writes values straight
// into pdata and keeps one scratch buffer for unescaping strings.
type decoder struct {
	b       []byte
	i       int
	scratch []byte

	// arena holds the bytes of the string values handed to pdata. It is
	// only ever appended to: every string made from it (keep) covers bytes
	// that are never written again, and a full arena is replaced, not
	// reused, so those strings stay valid for as long as they are used.
	arena []byte
	// discard is set when values are read only to be skipped: strings are
	// not kept.
	discard bool
	// owned is set when nothing writes b's bytes again (Parser.Owned): a
	// value read straight from b may then be kept as a view of it.
	owned bool

	// State of record(), for a line cut short: the attribute whose value is
	// being read, whether the body is being read or was read, and how many
	// keys were read completely.
	curAttr  string
	inBody   bool
	haveBody bool
	nkeys    int

	// sized is set once the record's attributes were given their capacity,
	// with room for reserve more.
	sized   bool
	reserve int

	// keys holds attribute names seen before: Dynamo repeats the same few
	// dozen on every line, so each is allocated once. recent is a small
	// direct-mapped cache in front of it, cheaper than a map lookup.
	keys   map[string]string
	recent *keyCache
}

// keyCache holds the attribute names met last, each in the slot its hash
// selects.
type keyCache [256]string

func keySlot(key []byte) uint8 {
	n := len(key)
	return uint8(n*31) ^ key[0]*7 ^ key[n/2]*3 ^ key[n-1]
}

// intern returns key as a string, reusing an earlier allocation of it.
func (d *decoder) intern(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	var slot *string
	if d.recent != nil {
		slot = &d.recent[keySlot(key)]
		if *slot == string(key) {
			return *slot
		}
	}
	s, ok := d.keys[string(key)]
	if !ok {
		s = string(key)
		if d.keys != nil && len(d.keys) < maxInternedKeys {
			d.keys[s] = s
		}
	}
	if slot != nil {
		*slot = s
	}
	return s
}

// keep returns s as a string whose bytes are never written again. A value
// read straight from an owned line is a view of it: no copy, and a record
// keeps alive its own line and nothing else. Otherwise (a line that is not
// owned, an unescaped value in the scratch buffer) a short value is copied
// into the arena and handed out as a view of it, so the values of several
// lines share one allocation, and a long one gets its own copy.
func (d *decoder) keep(s []byte) string {
	n := len(s)
	switch {
	case n == 0 || d.discard:
		return ""
	case d.owned && within(s, d.b):
		return unsafe.String(unsafe.SliceData(s), n)
	case n > maxArenaValue:
		return string(s)
	case cap(d.arena)-len(d.arena) < n:
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, s...)
	return unsafe.String(&d.arena[start], n)
}

// within reports whether part lies in whole's memory: a string read from
// the line does, an unescaped one (in the scratch buffer) does not.
func within(part, whole []byte) bool {
	if len(part) == 0 || len(whole) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
	w := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	return p >= w && p+uintptr(len(part)) <= w+uintptr(len(whole))
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// ws skips JSON whitespace. Dynamo writes none: the common case is one
// comparison, inlined.
func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *decoder) wsSlow() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

// str reads a JSON string at the cursor and returns its unescaped bytes. The
// result aliases the line or the scratch buffer: use it before the next call.
func (d *decoder) str() ([]byte, bool) {
	b, start := d.b, d.i+1
	if start > len(b) || b[start-1] != '"' {
		return nil, false
	}
	i := quoteOrBackslash(b, start)
	if i < len(b) && b[i] == '"' {
		d.i = i + 1
		return b[start:i], true
	}
	d.i = i
	if i == len(b) {
		return nil, false
	}
	return d.strEscaped(start)
}

// key reads an object key and the colon after it, and leaves the cursor on
// the value. The key aliases the line or the scratch buffer, as str's.
func (d *decoder) key() ([]byte, bool) {
	d.ws()
	key, ok := d.str()
	if !ok {
		return nil, false
	}
	if b, i := d.b, d.i; i+1 < len(b) && b[i] == ':' && b[i+1] > ' ' {
		// No whitespace, as Dynamo writes it.
		d.i = i + 1
		return key, true
	}
	d.ws()
	if !d.consume(':') {
		return nil, false
	}
	d.ws()
	return key, true
}

// SWAR constants: a byte repeated in every lane of a word.
const (
	lanes01   = 0x0101010101010101
	lanes80   = 0x8080808080808080
	lanesQuot = '"' * lanes01
	lanesBsl  = '\\' * lanes01
)

// quoteOrBackslash returns the index of the first '"' or '\\' in b at or
// after i, or len(b). It looks at eight bytes at a time, and past the first
// 64 bytes (a long string) lets bytes.IndexByte look further.
func quoteOrBackslash(b []byte, i int) int {
	// Words start at most at last: at most eight of them are read.
	last := min(i+56, len(b)-8)
	for ; i <= last; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, e := w^lanesQuot, w^lanesBsl
		// A lane becomes 0x80 where it was zero; lanes above a zero lane may
		// be marked too, but the lowest mark is always a zero lane.
		if m := ((q - lanes01) &^ q) | ((e - lanes01) &^ e); m&lanes80 != 0 {
			return i + bits.TrailingZeros64(m&lanes80)>>3
		}
	}
	if i+8 <= len(b) {
		return indexQuoteOrBackslash(b, i)
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(b)
}

// indexQuoteOrBackslash is quoteOrBackslash for long strings.
func indexQuoteOrBackslash(b []byte, i int) int {
	end := len(b)
	if q := bytes.IndexByte(b[i:], '"'); q >= 0 {
		end = i + q
	}
	if e := bytes.IndexByte(b[i:end], '\\'); e >= 0 {
		return i + e
	}
	return end
}

func (d *decoder) strEscaped(start int) ([]byte, bool) {
	out := append(d.scratch[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			d.scratch = out
			return out, true
		case c != '\\':
			j := quoteOrBackslash(d.b, d.i)
			out = append(out, d.b[d.i:j]...)
			d.i = j
			continue
		}
		d.i++
		if d.i >= len(d.b) {
			return nil, false
		}
		e := d.b[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				// A pair is \uD8xx\uDCxx; a lone half becomes U+FFFD.
				if d.i+6 <= len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					r2, ok := d.hex4()
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
					} else {
						d.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		v := unhex(c)
		if v < 0 {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	d.i += 4
	return r, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hexValues maps a hex digit to its value and any other byte to 0xff.
var hexValues = func() (t [256]byte) {
	for c := range t {
		v := unhex(byte(c))
		if v < 0 {
			v = 0xff
		}
		t[c] = byte(v)
	}
	return t
}()

// decodeHex decodes exactly 2*len(dst) hex digits from s into dst.
func decodeHex(s []byte, dst []byte) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := hexValues[s[2*i]], hexValues[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo
	}
	// Only a non-digit sets a high bit.
	return bad&0xf0 == 0
}

// strValue reads a string if the next value is one. isStr reports whether it
// was a string (nothing is consumed otherwise); ok whether it was well formed.
func (d *decoder) strValue() (s []byte, isStr, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	s, ok = d.str()
	return s, true, ok
}

// value reads any JSON value at the cursor into v, keeping its type.
func (d *decoder) value(v pcommon.Value, depth int) bool {
	switch c := d.peek(); {
	case c == '"':
		s, ok := d.str()
		if !ok {
			return false
		}
		v.SetStr(d.keep(s))
		return true
	case c == '{':
		if depth >= maxDepth {
			return false
		}
		d.i++
		m := v.SetEmptyMap()
		d.ws()
		if d.consume('}') {
			return true
		}
		for {
			key, ok := d.key()
			if !ok {
				return false
			}
			if !d.value(m.PutEmpty(d.intern(key)), depth+1) {
				return false
			}
			d.ws()
			if d.consume(',') {
				continue
			}
			return d.consume('}')
		}
	case c == '[':
		if depth >= maxDepth {
			return false
		}
		d.i++
		sl := v.SetEmptySlice()
		d.ws()
		if d.consume(']') {
			return true
		}
		for {
			d.ws()
			if !d.value(sl.AppendEmpty(), depth+1) {
				return false
			}
			d.ws()
			if d.consume(',') {
				continue
			}
			return d.consume(']')
		}
	case c == 't':
		if d.literal("true") {
			v.SetBool(true)
			return true
		}
		return false
	case c == 'f':
		if d.literal("false") {
			v.SetBool(false)
			return true
		}
		return false
	case c == 'n':
		// null stays an empty value.
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number(v)
	}
	return false
}

func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// number reads a JSON number: an integer that fits int64 becomes Int, any
// other number Double.
func (d *decoder) number(v pcommon.Value) bool {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits {
		return false
	}
	isInt := true
	if d.i < len(d.b) && d.b[d.i] == '.' {
		isInt = false
		d.i++
		frac := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		if d.i == frac {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		isInt = false
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		exp := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		if d.i == exp {
			return false
		}
	}
	num := d.b[start:d.i]
	if isInt {
		if n, ok := parseInt(num); ok {
			v.SetInt(n)
			return true
		}
	}
	// The string view is only read by ParseFloat, never kept.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
	if err != nil && !math.IsInf(f, 0) {
		return false
	}
	v.SetDouble(f)
	return true
}

// parseInt parses an optionally negative decimal integer without allocating;
// ok is false on overflow.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true //nolint:gosec // bounded above
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}
