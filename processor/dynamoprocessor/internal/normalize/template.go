package normalize

import "strings"

// Placeholder replaces a dynamic part of a span name.
const Placeholder = "{id}"

// minDecimalID is the length from which a run of decimal digits is an id
// wherever it appears; inside a URL path a whole segment of digits is an id
// at any length.
const minDecimalID = 6

// minHexID is the length from which a run of hexadecimal digits (with at
// least one decimal digit among them) is an id.
const minHexID = 16

// mayNeedTemplate is the cheap pre-check: a name without a decimal digit and
// without '?' has no dynamic part this package recognises. (A hex id without
// a single decimal digit among 16 or more characters is vanishingly rare.)
func mayNeedTemplate(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c >= '0' && c <= '9') || c == '?' {
			return true
		}
	}
	return false
}

// isWordDelim separates the words of a name: path separators, spaces and
// the punctuation of URLs and key=value pairs. '-', '_' and '.' join words
// (http-request, kv_router.select_worker, Qwen3-0.6B).
func isWordDelim(c byte) bool {
	switch c {
	case '/', ' ', ':', '=', ',', ';', '&', '#', '@', '(', ')', '[', ']', '\t':
		return true
	}
	return false
}

func isPartDelim(c byte) bool { return c == '-' || c == '_' || c == '.' }

func isDec(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// isUUID reports whether w is a UUID in its 8-4-4-4-12 form.
func isUUID(w string) bool {
	if len(w) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if w[i] != '-' {
				return false
			}
		default:
			if !isHex(w[i]) {
				return false
			}
		}
	}
	return true
}

// isDynamicPart reports whether p (a part of a word, between '-', '_', '.')
// is an id: a long decimal number, or a long hex string with a digit in it.
// wholeSegment is true when p is a whole URL path segment.
func isDynamicPart(p string, wholeSegment bool) bool {
	if len(p) == 0 {
		return false
	}
	dec, hex, digits := true, true, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if isDec(c) {
			digits++
			continue
		}
		dec = false
		if !isHex(c) {
			hex = false
			break
		}
	}
	switch {
	case dec:
		return wholeSegment || len(p) >= minDecimalID
	case hex:
		return len(p) >= minHexID && digits > 0
	}
	return false
}

// Template replaces the dynamic parts of a span name with {id} and drops a
// query string:
//
//	GET /v1/models/123                         → GET /v1/models/{id}
//	POST /v1/chat/completions?stream=true      → POST /v1/chat/completions
//	request 6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44 → request {id}
//	worker-2221573453717914121                 → worker-{id}
//	span f7e487a9d2a6bf38                      → span {id}
//
// It returns name unchanged and false, without allocating, when there is
// nothing to template.
func Template(name string) (string, bool) {
	if !mayNeedTemplate(name) {
		return name, false
	}
	orig, changed := name, false
	if q := strings.IndexByte(name, '?'); q >= 0 {
		name = strings.TrimRight(name[:q], " ")
		changed = true
	}
	var b []byte // nil until the first replacement
	flushed := 0 // name[:flushed] is in b
	replace := func(start, end int) {
		if b == nil {
			b = make([]byte, 0, len(name)+8)
		}
		b = append(b, name[flushed:start]...)
		b = append(b, Placeholder...)
		flushed = end
	}
	i := 0
	for i < len(name) {
		if isWordDelim(name[i]) {
			i++
			continue
		}
		start := i
		for i < len(name) && !isWordDelim(name[i]) {
			i++
		}
		word := name[start:i]
		if isUUID(word) {
			replace(start, i)
			continue
		}
		inPath := start > 0 && name[start-1] == '/'
		if isDynamicPart(word, inPath) {
			replace(start, i)
			continue
		}
		// Parts of the word, between '-', '_' and '.'.
		j := start
		for j < i {
			if isPartDelim(name[j]) {
				j++
				continue
			}
			ps := j
			for j < i && !isPartDelim(name[j]) {
				j++
			}
			if isDynamicPart(name[ps:j], false) {
				replace(ps, j)
			}
		}
	}
	if b == nil {
		if changed && name == "" {
			return orig, false // a name that is only a query string stays
		}
		return name, changed
	}
	b = append(b, name[flushed:]...)
	return string(b), true
}
