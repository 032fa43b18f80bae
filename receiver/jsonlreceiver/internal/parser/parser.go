// Package parser turns one line of a Dynamo JSONL log into a pdata log record.
//
// JSON objects are walked byte by byte straight into the record (no
// intermediate map, no reflection); JSON types are kept. Lines that are not a
// JSON object become text records. The key mapping is documented in the
// receiver's README and in Keys below.
package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"bytes"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute names written by the parser.
const (
	// AttrCodeFilePath receives `file` (Rust) and `log.file` (Python).
	AttrCodeFilePath = "code.file.path"
	// AttrCodeLineNumber receives `line` (Rust) and `log.line` (Python).
	AttrCodeLineNumber = "code.line.number"
	// AttrTarget receives `target` (Rust module path) and `log.target`
	// (Python); semantic conventions v1.40 have no code.* key for a module.
	AttrTarget = "target"
	// AttrText marks a record made from a line that is not a JSON object.
	AttrText = "jsonl.text"
)

// Result describes what Parse met on a line.
type Result uint8

const (
	// Empty means the line was empty or whitespace only: no record was written.
	Empty Result = 1 << iota
	// NonJSON means the line was not a JSON object and became a text record.
	NonJSON
	// Repaired means the line held invalid UTF-8, replaced with U+FFFD.
	Repaired
)

// maxDepth bounds the nesting of JSON objects and arrays.
const maxDepth = 64

// Parser parses lines. It keeps scratch buffers, so one Parser must not be
// used by two goroutines at once; its zero value is ready to use.
type Parser struct {
	// Reserve is how many attributes the caller adds to a record after
	// parsing it; room is kept for them, so that a record's attributes are
	// allocated once.
	Reserve int
	// Owned tells Parse that nothing writes the line's bytes again once it
	// is handed over (a buffer made for this line alone, not one that is
	// reused): string values are then kept as views of it rather than
	// copied.
	Owned bool

	scratch []byte
	keys    map[string]string
	recent  keyCache
	// arena is where the last line's string values were copied to; the
	// next line's values go after them while there is room (see
	// decoder.keep).
	arena []byte
}

// The string values of several lines share one allocation of arenaChunk
// bytes (which a single value kept downstream keeps alive as a whole);
// values longer than maxArenaValue get their own.
const (
	arenaChunk    = 4 << 10
	maxArenaValue = 512
)

// maxAttrsHint bounds the attribute capacity reserved up front.
const maxAttrsHint = 64

// maxInternedKeys bounds the attribute names a Parser keeps to reuse.
const maxInternedKeys = 4096

// Parse writes the record for line (without its line terminator) into lr,
// which must be freshly created. It sets the timestamp only when the line
// carries one; the caller sets the observed timestamp and any fallback time.
func (p *Parser) Parse(line []byte, lr plog.LogRecord) Result {
	return p.parse(line, lr, false)
}

// ParseTruncated parses a line that was cut at the maximum line size. A JSON
// object cut short keeps every key read completely before the cut (time,
// level, source location, message and trace context come first in Dynamo's
// lines); its body is the message, or the cut text when the message was not
// reached. Any other line is parsed as by Parse.
func (p *Parser) ParseTruncated(line []byte, lr plog.LogRecord) Result {
	return p.parse(line, lr, true)
}

func (p *Parser) parse(line []byte, lr plog.LogRecord, cut bool) Result {
	if isBlank(line) {
		return Empty
	}
	var res Result
	owned := p.Owned
	if !utf8.Valid(line) {
		// A new buffer, written only here.
		line, owned = bytes.ToValidUTF8(line, []byte("\uFFFD")), true
		res |= Repaired
	}
	if first := firstNonSpace(line); first < len(line) && line[first] == '{' {
		if p.keys == nil {
			p.keys = make(map[string]string, 64)
		}
		d := decoder{b: line, i: first, scratch: p.scratch[:0], keys: p.keys, recent: &p.recent, arena: p.arena, reserve: p.Reserve, owned: owned}
		ok := d.record(lr)
		p.scratch, p.arena = d.scratch, d.arena
		if ok {
			return res
		}
		if cut && d.nkeys > 0 {
			// Keep what was read before the cut, without the value cut short.
			if d.curAttr != "" {
				lr.Attributes().Remove(d.curAttr)
			}
			if d.inBody || !d.haveBody {
				lr.Body().SetStr(keepText(lineText(line), owned))
			}
			return res
		}
		resetRecord(lr)
	}
	if parseText(line, lr, p.Reserve, owned) {
		return res | NonJSON
	}
	// Only escape sequences and blanks: nothing to keep.
	resetRecord(lr)
	return res | Empty
}

func resetRecord(lr plog.LogRecord) {
	plog.NewLogRecord().MoveTo(lr)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func firstNonSpace(b []byte) int {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// keySource is set for the source-location keys already taken from a
// Python `log.*` key, so a Rust-style key met later does not overwrite it.
type keySource uint8

const (
	pyFile keySource = 1 << iota
	pyLine
	pyTarget
)

// record walks one JSON object into lr. It returns false when the line is
// not exactly one JSON object (trailing whitespace allowed).
func (d *decoder) record(lr plog.LogRecord) bool {
	if !d.consume('{') {
		return false
	}
	attrs := lr.Attributes()
	var py keySource
	d.ws()
	if d.peek() == '}' {
		d.i++
		return d.end()
	}
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		switch string(key) {
		case "time":
			if s, isStr, ok := d.strValue(); isStr {
				if !ok {
					return false
				}
				if ts, ok := ParseTime(s); ok {
					lr.SetTimestamp(pcommon.Timestamp(ts))
				} else {
					d.room(attrs).PutStr("time", d.keep(s))
				}
			} else if !d.value(d.attr(attrs, "time"), 0) {
				return false
			}
		case "level":
			if s, isStr, ok := d.strValue(); isStr {
				if !ok {
					return false
				}
				lr.SetSeverityText(d.severityText(s))
				lr.SetSeverityNumber(Severity(s))
			} else if !d.value(d.attr(attrs, "level"), 0) {
				return false
			}
		case "message":
			d.inBody = true
			if !d.value(lr.Body(), 0) {
				return false
			}
			d.inBody, d.haveBody = false, true
		case "file":
			if !d.sourceKey(attrs, AttrCodeFilePath, py&pyFile != 0) {
				return false
			}
		case "log.file":
			py |= pyFile
			if !d.sourceKey(attrs, AttrCodeFilePath, false) {
				return false
			}
		case "line":
			if !d.sourceKey(attrs, AttrCodeLineNumber, py&pyLine != 0) {
				return false
			}
		case "log.line":
			py |= pyLine
			if !d.sourceKey(attrs, AttrCodeLineNumber, false) {
				return false
			}
		case "target":
			if !d.sourceKey(attrs, AttrTarget, py&pyTarget != 0) {
				return false
			}
		case "log.target":
			py |= pyTarget
			if !d.sourceKey(attrs, AttrTarget, false) {
				return false
			}
		case "trace_id":
			if s, isStr, ok := d.strValue(); isStr {
				if !ok {
					return false
				}
				var id pcommon.TraceID
				if decodeHex(s, id[:]) && !id.IsEmpty() {
					lr.SetTraceID(id)
				} else {
					d.room(attrs).PutStr("trace_id", d.keep(s))
				}
			} else if !d.value(d.attr(attrs, "trace_id"), 0) {
				return false
			}
		case "span_id":
			if s, isStr, ok := d.strValue(); isStr {
				if !ok {
					return false
				}
				var id pcommon.SpanID
				if decodeHex(s, id[:]) && !id.IsEmpty() {
					lr.SetSpanID(id)
				} else {
					d.room(attrs).PutStr("span_id", d.keep(s))
				}
			} else if !d.value(d.attr(attrs, "span_id"), 0) {
				return false
			}
		case "trace_flags":
			if s, isStr, ok := d.strValue(); isStr {
				if !ok {
					return false
				}
				var f [1]byte
				if decodeHex(s, f[:]) {
					lr.SetFlags(plog.LogRecordFlags(f[0]))
				}
				d.room(attrs).PutStr("trace_flags", d.keep(s))
			} else if !d.value(d.attr(attrs, "trace_flags"), 0) {
				return false
			}
		default:
			if !d.put(attrs, d.intern(key)) {
				return false
			}
		}
		d.curAttr = ""
		d.nkeys++
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return d.end()
		default:
			return false
		}
	}
}

var comma = []byte{','}

// severityText returns the level as written, as a constant when it is one of
// the usual names.
func (d *decoder) severityText(s []byte) string {
	if name := levelName(s); name != "" {
		return name
	}
	return d.keep(s)
}

// sourceKey writes a source-location value under name unless skip is set
// (a Python key already provided it), in which case the value is skipped.
func (d *decoder) sourceKey(attrs pcommon.Map, name string, skip bool) bool {
	if skip {
		return d.value(pcommon.NewValueEmpty(), 0)
	}
	return d.put(attrs, name)
}

// put reads the value at the cursor into the attribute name. A string, the
// usual value, is read first and put whole.
func (d *decoder) put(attrs pcommon.Map, name string) bool {
	if d.peek() != '"' || name == "" {
		// (An empty name cannot be told from no attribute in curAttr: such
		// an attribute is created first, and stays when its value is cut.)
		return d.value(d.attr(attrs, name), 0)
	}
	// As for attr: a value cut short removes the attribute.
	d.curAttr = name
	s, ok := d.str()
	if !ok {
		return false
	}
	d.room(attrs).PutStr(name, d.keep(s))
	return true
}

// attr creates the attribute a value is about to be read into, and
// remembers it until the value is complete.
func (d *decoder) attr(attrs pcommon.Map, name string) pcommon.Value {
	d.curAttr = name
	return d.room(attrs).PutEmpty(name)
}

// room sizes the attributes once, when the first one is about to be put:
// the attribute array is then allocated once, at about its final size.
// Every key of an object but the last is followed by a comma, so the commas
// after the cursor bound the keys still to come (commas inside values only
// loosen the bound). Sizing at the first attribute rather than at '{'
// leaves out time and level, which Dynamo writes first.
func (d *decoder) room(attrs pcommon.Map) pcommon.Map {
	if !d.sized {
		d.sized = true
		attrs.EnsureCapacity(min(bytes.Count(d.b[d.i:], comma), maxAttrsHint) + 1 + d.reserve)
	}
	return attrs
}

// end accepts only whitespace after the object.
func (d *decoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}
