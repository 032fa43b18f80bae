package parser

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// inLine reports whether s's bytes lie in line's memory.
func inLine(s string, line []byte) bool {
	return len(s) > 0 && within(unsafe.Slice(unsafe.StringData(s), len(s)), line)
}

func parseOwned(t *testing.T, p *Parser, line []byte) plog.LogRecord {
	t.Helper()
	p.Owned = true
	lr := plog.NewLogRecord()
	p.Parse(line, lr)
	return lr
}

func TestOwnedLineValuesAreViews(t *testing.T) {
	long := strings.Repeat("generated token text ", 40) // 840 bytes
	line := []byte(`{"level":"INFO","message":"` + long + `","short":"s","n":12,"obj":{"inner":"v"},"list":["a"],"esc":"x\ty"}`)
	var p Parser
	lr := parseOwned(t, &p, line)
	require.Equal(t, long, lr.Body().Str())
	assert.True(t, inLine(lr.Body().Str(), line), "the message of an owned line is not copied")
	assert.True(t, inLine(attr(t, lr, "short").Str(), line), "nor a short value")
	v, _ := attr(t, lr, "obj").Map().Get("inner")
	assert.True(t, inLine(v.Str(), line), "nor a nested one")
	assert.True(t, inLine(attr(t, lr, "list").Slice().At(0).Str(), line))
	// An escaped value is unescaped elsewhere: copied.
	assert.Equal(t, "x\ty", attr(t, lr, "esc").Str())
	assert.False(t, inLine(attr(t, lr, "esc").Str(), line))

	// The same line not owned: nothing is a view of it.
	p.Owned = false
	lr = plog.NewLogRecord()
	p.Parse(line, lr)
	assert.Equal(t, long, lr.Body().Str())
	assert.False(t, inLine(lr.Body().Str(), line))
	assert.False(t, inLine(attr(t, lr, "short").Str(), line))
}

func TestOwnedLineEscapedValueIsCopied(t *testing.T) {
	// An escaped value is unescaped into the Parser's scratch buffer, which
	// the next line reuses: it must be copied out of it.
	long := strings.Repeat(`a\"b`, 300)
	line := []byte(`{"message":"` + long + `"}`)
	var p Parser
	lr := parseOwned(t, &p, line)
	want := strings.Repeat(`a"b`, 300)
	require.Equal(t, want, lr.Body().Str())
	assert.False(t, inLine(lr.Body().Str(), line))
	parseOwned(t, &p, []byte(`{"message":"`+strings.Repeat(`z\"z`, 300)+`"}`))
	assert.Equal(t, want, lr.Body().Str(), "the record changed when the Parser read the next line")
}

func TestOwnedTextLine(t *testing.T) {
	for _, text := range []string{"INFO engine ready", "INFO " + strings.Repeat("engine output ", 60)} {
		line := []byte(text + "\r")
		var p Parser
		lr := parseOwned(t, &p, line)
		assert.Equal(t, text, lr.Body().Str())
		assert.True(t, inLine(lr.Body().Str(), line))
		assert.Equal(t, "INFO", lr.SeverityText())
	}
}

func TestRepairedLineIsOwnedByItsRecord(t *testing.T) {
	// A line with invalid UTF-8 is repaired into a buffer of its own, which
	// its record may keep even when the line itself is not owned.
	long := strings.Repeat("w", 1000)
	line := []byte("{\"message\":\"caf\xe9 " + long + "\"}")
	var p Parser
	lr := plog.NewLogRecord()
	assert.Equal(t, Repaired, p.Parse(line, lr))
	assert.Equal(t, "caf\uFFFD "+long, lr.Body().Str())
	assert.False(t, inLine(lr.Body().Str(), line))
	for i := range line {
		line[i] = 'x'
	}
	assert.Equal(t, "caf\uFFFD "+long, lr.Body().Str())
}

func TestOwnedRecordsEqualCopiedOnes(t *testing.T) {
	for _, line := range []string{lineNewFrontend, lineError, linePython, lineANSI,
		`{"message":"` + strings.Repeat("long ", 400) + `","k":"v","n":1}`,
		`{"k":"` + strings.Repeat("é", 600) + `"}`,
		`{"a":["` + strings.Repeat("q", 900) + `",{"b":"` + strings.Repeat("r", 900) + `"}]}`,
		strings.Repeat("plain text ", 100),
	} {
		checkOwnedSameRecord(t, []byte(line))
	}
}

// checkOwnedSameRecord parses an owned copy of line with a Parser in use and
// checks that the record equals the one a fresh Parser makes from a line it
// does not own, and that it stays so while the Parser reads other lines.
func checkOwnedSameRecord(t testing.TB, line []byte) {
	t.Helper()
	var fresh, warm Parser
	for _, l := range []string{lineNewFrontend, `{"k":"esc\"aped\n"}`} {
		warm.Parse([]byte(l), plog.NewLogRecord())
	}
	want := plog.NewLogRecord()
	fresh.Parse(bytes.Clone(line), want)
	warm.Owned = true
	got := plog.NewLogRecord()
	warm.Parse(bytes.Clone(line), got)
	if a, b := recordJSON(t, got), recordJSON(t, want); a != b {
		t.Fatalf("an owned line gives another record than a copied one for %q:\n%s\n%s", line, a, b)
	}
	for _, l := range []string{lineError, `{"k":"` + strings.Repeat(`\u00e9`, 300) + `"}`, strings.Repeat("t", 2000)} {
		warm.Parse([]byte(l), plog.NewLogRecord())
	}
	if a, b := recordJSON(t, got), recordJSON(t, want); a != b {
		t.Fatalf("the record of owned %q changed when the Parser was reused:\n%s\n%s", line, a, b)
	}
}

func TestOwnedCutLineBodyIsAView(t *testing.T) {
	// A line cut inside its message: the body is the cut text, a view of an
	// owned line like any other value of it.
	line := []byte(`{"level":"INFO","message":"` + strings.Repeat("partial output ", 40))
	for _, owned := range []bool{true, false} {
		p := Parser{Owned: owned}
		lr := plog.NewLogRecord()
		p.ParseTruncated(line, lr)
		assert.Equal(t, string(line), lr.Body().Str())
		assert.Equal(t, owned, inLine(lr.Body().Str(), line), "owned %v", owned)
	}
}
