package parser

import (
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// validUTF8 reports whether every string in v is valid UTF-8.
func validUTF8(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return utf8.ValidString(v.Str())
	case pcommon.ValueTypeMap:
		ok := true
		v.Map().Range(func(k string, x pcommon.Value) bool {
			ok = utf8.ValidString(k) && validUTF8(x)
			return ok
		})
		return ok
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			if !validUTF8(v.Slice().At(i)) {
				return false
			}
		}
	}
	return true
}

// FuzzParse: any input gives a record or Empty, never a panic, and never a
// string that is not valid UTF-8 (which would fail an export downstream). A
// Parser in use gives the same record as a fresh one, and a record does not
// change when the input and the Parser are reused; an owned line gives the
// same record as one that is copied.
func FuzzParse(f *testing.F) {
	for _, l := range []string{lineNewFrontend, lineNewWorker, lineMid, lineSpanClosed, linePython, lineError, lineOld, lineANSI,
		"", " ", `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":[[[[]]]]}`, `{"time":"2026-07-30T20:04:11.482913+02:00"}`} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkParse(t, line, false)
		checkParse(t, line, true)
		checkOwnsItsValues(t, line, false)
		checkOwnsItsValues(t, line, true)
		checkOwnedSameRecord(t, line)
	})
}

func checkParse(t *testing.T, line []byte, cut bool) {
	var p Parser
	lr := plog.NewLogRecord()
	var res Result
	if cut {
		res = p.ParseTruncated(line, lr)
	} else {
		res = p.Parse(line, lr)
	}
	{
		if res&Empty != 0 {
			if lr.Attributes().Len() != 0 || lr.Body().Type() != pcommon.ValueTypeEmpty {
				t.Fatalf("empty result with content: %q", line)
			}
			return
		}
		if !validUTF8(lr.Body()) || !utf8.ValidString(lr.SeverityText()) {
			t.Fatalf("invalid UTF-8 in body or severity from %q", line)
		}
		m := pcommon.NewValueMap()
		lr.Attributes().CopyTo(m.Map())
		if !validUTF8(m) {
			t.Fatalf("invalid UTF-8 in attributes from %q", line)
		}
	}
}

// FuzzUnwrap: the container formats never panic, and CRI content is a
// suffix of the line (byte for byte).
func FuzzUnwrap(f *testing.F) {
	f.Add([]byte("2026-07-30T18:04:11.482913123Z stderr P {\"a\": "))
	f.Add([]byte(`{"log":"x\n","stream":"stderr","time":"2026-07-30T18:04:11Z"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if e, ok := UnwrapCRI(line); ok && len(e.Content) > 0 && string(line[len(line)-len(e.Content):]) != string(e.Content) {
			t.Fatalf("CRI content is not the end of the line: %q", line)
		}
		var buf []byte
		_, _ = UnwrapDocker(line, &buf)
		_ = Detect(line)
	})
}
