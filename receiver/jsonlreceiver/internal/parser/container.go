package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"bytes"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Format is how a container runtime wrapped the lines of a file.
type Format uint8

const (
	// FormatUnknown means not detected yet.
	FormatUnknown Format = iota
	// FormatRaw is a line as the program wrote it.
	FormatRaw
	// FormatCRI is containerd / CRI-O: `<RFC3339Nano> <stream> <P|F> <line>`.
	FormatCRI
	// FormatDocker is Docker's json-file driver: `{"log":"<line>\n","stream":…,"time":…}`.
	FormatDocker
)

// Entry is one line of a container log, unwrapped.
type Entry struct {
	// Content is what the program wrote, without the newline.
	Content []byte
	// Partial means the line continues in the next entry.
	Partial bool
	// Time is the runtime's timestamp in Unix nanoseconds, 0 if absent.
	Time int64
	// Stream is "stdout" or "stderr" (empty when the runtime wrote another value).
	Stream string
}

// Detect tells the wrapping of a file from one of its lines.
func Detect(line []byte) Format {
	if _, ok := UnwrapCRI(line); ok {
		return FormatCRI
	}
	if bytes.HasPrefix(line, []byte(`{"log":`)) {
		var buf []byte
		if _, ok := UnwrapDocker(line, &buf); ok {
			return FormatDocker
		}
	}
	return FormatRaw
}

func stream(b []byte) (string, bool) {
	switch string(b) {
	case "stdout":
		return "stdout", true
	case "stderr":
		return "stderr", true
	}
	return "", false
}

// UnwrapCRI splits a CRI log line. Content aliases line, byte for byte: a
// partial line's trailing spaces belong to the program's line.
func UnwrapCRI(line []byte) (Entry, bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return Entry{}, false
	}
	ts, ok := ParseTime(line[:sp])
	if !ok {
		return Entry{}, false
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return Entry{}, false
	}
	st, ok := stream(rest[:sp])
	if !ok {
		return Entry{}, false
	}
	rest = rest[sp+1:]
	// The tag is P or F, possibly followed by more ':'-separated tags.
	tagEnd := bytes.IndexByte(rest, ' ')
	tag := rest
	if tagEnd >= 0 {
		tag = rest[:tagEnd]
		rest = rest[tagEnd+1:]
	} else {
		rest = rest[len(rest):]
	}
	if len(tag) == 0 || (tag[0] != 'P' && tag[0] != 'F') || (len(tag) > 1 && tag[1] != ':') {
		return Entry{}, false
	}
	return Entry{Content: rest, Partial: tag[0] == 'P', Time: ts, Stream: st}, true
}

// UnwrapDocker decodes a Docker json-file line. The content is unescaped into
// *buf (reused between calls). A `log` value without its trailing newline is
// a partial line (Docker splits lines longer than 16 KiB).
func UnwrapDocker(line []byte, buf *[]byte) (Entry, bool) {
	d := decoder{b: line, scratch: (*buf)[:0], discard: true}
	var e Entry
	var haveLog bool
	content := (*buf)[:0]
	d.ws()
	if !d.consume('{') {
		return Entry{}, false
	}
	d.ws()
	if d.consume('}') {
		return Entry{}, false
	}
	for {
		d.ws()
		key, ok := d.str()
		if !ok {
			return Entry{}, false
		}
		var which byte
		switch string(key) {
		case "log", "stream", "time":
			which = key[0]
		}
		d.ws()
		if !d.consume(':') {
			return Entry{}, false
		}
		d.ws()
		s, isStr, ok := d.strValue()
		switch {
		case isStr && !ok:
			return Entry{}, false
		case !isStr:
			if !d.value(pcommon.NewValueEmpty(), 0) {
				return Entry{}, false
			}
		default:
			switch which {
			case 'l':
				haveLog = true
				content = append(content[:0], s...)
				d.scratch = nil // content owns the old scratch now
			case 's':
				e.Stream, _ = stream(s)
			case 't':
				e.Time, _ = ParseTime(s)
			}
		}
		d.ws()
		if d.consume(',') {
			continue
		}
		if !d.consume('}') || !d.end() || !haveLog {
			return Entry{}, false
		}
		break
	}
	if n := len(content); n > 0 && content[n-1] == '\n' {
		content = content[:n-1]
	} else {
		e.Partial = true
	}
	*buf = content
	e.Content = content
	return e, true
}
