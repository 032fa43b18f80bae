package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"math"
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

	// State of record(), for a line cut short: the attribute whose value is
	// being read, whether the body is being read or was read, and how many
	// keys were read completely.
	curAttr  string
	inBody   bool
	haveBody bool
	nkeys    int

	// keys holds attribute names seen before: Dynamo repeats the same few
	// dozen on every line, so each is allocated once.
	keys map[string]string
}

// intern returns key as a string, reusing an earlier allocation of it.
func (d *decoder) intern(key []byte) string {
	if s, ok := d.keys[string(key)]; ok {
		return s
	}
	s := string(key)
	if d.keys != nil && len(d.keys) < maxInternedKeys {
		d.keys[s] = s
	}
	return s
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

func (d *decoder) ws() {
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
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := d.b[start:d.i]
			d.i++
			return s, true
		}
		if c == '\\' {
			return d.strEscaped(start)
		}
		d.i++
	}
	return nil, false
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
			out = append(out, c)
			d.i++
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

// decodeHex decodes exactly 2*len(dst) hex digits from s into dst.
func decodeHex(s []byte, dst []byte) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return false
		}
		dst[i] = byte(hi<<4 | lo)
	}
	return true
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
		v.SetStr(string(s))
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
			d.ws()
			key, ok := d.str()
			if !ok {
				return false
			}
			d.ws()
			if !d.consume(':') {
				return false
			}
			d.ws()
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
