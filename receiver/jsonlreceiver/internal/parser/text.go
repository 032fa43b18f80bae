package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"bytes"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// parseText fills lr from a line that is not a JSON object: the body is the
// line with ANSI escape sequences removed and trailing line-end characters
// cut, a leading timestamp and level (in either order) set the record's time
// and severity, and AttrText marks the record (with room for reserve more
// attributes). It returns false when nothing but escape sequences and
// whitespace remains. When the line is owned (Parser.Owned) the body is a
// view of it, not a copy.
func parseText(line []byte, lr plog.LogRecord, reserve int, owned bool) bool {
	text := lineText(line)
	if isBlank(text) {
		return false
	}
	body := keepText(text, owned)
	lr.Body().SetStr(body)
	lr.Attributes().EnsureCapacity(1 + reserve)
	lr.Attributes().PutBool(AttrText, true)

	at := firstNonSpace(text)
	if ts, n, ok := parseTimePrefix(text[at:]); ok {
		lr.SetTimestamp(pcommon.Timestamp(ts))
		at += n
		at += firstNonSpace(text[at:])
	}
	if start, end := leadingWord(text, at); end > start {
		if sev := Severity(text[start:end]); sev != plog.SeverityNumberUnspecified {
			lr.SetSeverityNumber(sev)
			// The level as written is a part of the body.
			lr.SetSeverityText(body[start:end])
		}
	}
	return true
}

// lineText is line without ANSI escape sequences and trailing line-end
// characters: what a record keeps of a line as its body.
func lineText(line []byte) []byte {
	return bytes.TrimRight(StripANSI(line), "\r\n")
}

// keepText returns the lineText of a line as a string: a view of it when
// the line is owned (StripANSI returns the line itself or a buffer of its
// own, bytes nothing writes again either way), a copy otherwise.
func keepText(text []byte, owned bool) string {
	if owned {
		return unsafe.String(unsafe.SliceData(text), len(text))
	}
	return string(text)
}

// leadingWord returns where the run of ASCII letters at b[i:] starts and
// ends, with one pair of surrounding brackets allowed ("[ERROR]"); start ==
// end when there is none.
func leadingWord(b []byte, i int) (start, end int) {
	if i < len(b) && b[i] == '[' {
		i++
	}
	start = i
	for i < len(b) && ((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= 'a' && b[i] <= 'z')) {
		i++
	}
	if i < len(b) {
		switch b[i] {
		case ' ', ':', ']', '\t':
		default:
			return start, start
		}
	}
	return start, i
}

// StripANSI removes ANSI escape sequences (CSI such as colours, OSC, and
// two-byte escapes). It returns b itself when there is none.
func StripANSI(b []byte) []byte {
	first := bytes.IndexByte(b, 0x1b)
	if first < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:first]...)
	for i := first; i < len(b); {
		c := b[i]
		if c != 0x1b {
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '[': // CSI: parameter and intermediate bytes, then one final byte
			i++
			for i < len(b) && b[i] >= 0x20 && b[i] <= 0x3f {
				i++
			}
			if i < len(b) && b[i] >= 0x40 && b[i] <= 0x7e {
				i++
			}
		case ']': // OSC: up to BEL or ST (ESC \)
			i++
			for i < len(b) {
				if b[i] == 0x07 {
					i++
					break
				}
				if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
					i += 2
					break
				}
				i++
			}
		default:
			switch c := b[i]; {
			case c >= 0x20 && c <= 0x2f: // intermediates, then a final byte (ESC ( B)
				for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f {
					i++
				}
				if i < len(b) && b[i] >= 0x30 && b[i] <= 0x7e {
					i++
				}
			case c >= 0x30 && c <= 0x7e: // two-byte escape
				i++
			}
			// Anything else: a lone ESC, dropped; the next byte is text.
		}
	}
	return out
}
