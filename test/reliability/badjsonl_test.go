package reliability

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// badJSONLLines are the hostile lines of the bad-input test, by name. None
// holds '\n'; the file writes each followed by "\n".
func badJSONLLines(run string) [][2]string {
	rng := rand.New(rand.NewPCG(7, 11))
	garbage := make([]byte, 8192)
	for i := range garbage {
		b := byte(rng.IntN(256))
		if b == '\n' {
			b = 'x'
		}
		garbage[i] = b
	}
	garbage[0] = 'g' // not whitespace-only, whatever the draw
	var manyKeys strings.Builder
	manyKeys.WriteString(`{"message":"many keys"`)
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&manyKeys, `,"k%d":%d`, i, i)
	}
	manyKeys.WriteString("}")
	valid := fmt.Sprintf(`{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","target":"dynamo_runtime","message":"valid","run":%q}`, run)
	return [][2]string{
		{"valid", valid},
		{"invalid JSON", `{"time":"2026-07-30T18:04:11.482913Z","level":INFO,"message":"unquoted"}`},
		{"truncated JSON", `{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","message":"cut in the mid`},
		{"10 MiB line", `{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","message":"` + strings.Repeat("a", 10<<20) + `"}`},
		{"invalid UTF-8", "{\"message\":\"bad \xff\xfe\xc3 utf8\",\"k\xffey\":\"v\"}"},
		{"invalid UTF-8 text", "plain \xff\xfe text \xc3"},
		{"NUL in JSON", "{\"message\":\"nul \x00 inside\",\"a\x00b\":1}"},
		{"NUL bytes", "\x00\x00\x00\x00"},
		{"binary garbage", string(garbage)},
		{"object nested 100000 deep", strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)},
		{"array nested 100000 deep", `{"message":"deep array","a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}"},
		{"unclosed nesting", strings.Repeat(`{"a":[`, 50000)},
		{"duplicate keys", `{"message":"one","message":"two","x":1,"x":"2","level":"INFO","level":"ERROR"}`},
		{"wrong types", `{"time":12345,"level":7,"trace_id":123,"span_id":true,"message":"wrong types"}`},
		{"wrong types 2", `{"time":null,"level":["INFO"],"trace_id":{"a":1},"span_id":"zz","trace_flags":[],"message":{"nested":true}}`},
		{"huge numbers", `{"message":"numbers","a":1e400,"b":-1e400,"c":123456789012345678901234567890,"d":-0,"e":1.5e-400}`},
		{"50000 keys", manyKeys.String()},
		{"empty", ""},
		{"whitespace", " \t  \t "},
		{"CRLF", `{"message":"crlf line","level":"WARN"}` + "\r"},
		{"lone CR", "\r"},
		{"ANSI only", "\x1b[0m\x1b[2m"},
		{"valid again", strings.Replace(valid, `"valid"`, `"valid again"`, 1)},
	}
}

// TestJSONLBadInput writes every kind of hostile line to a file the jsonl
// receiver tails: the collector keeps running, the receiver's own metrics
// account for every line (each non-empty one emitted as a record, empty
// ones counted), valid lines around the bad ones arrive in VictoriaLogs, and
// memory stays bounded.
func TestJSONLBadInput(t *testing.T) {
	vlogs := testbackend.StartVictoriaLogs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.log")
	gw := newGateway(t, testutil.FreeAddr(t), vlogs.OTLPLogsEndpoint(),
		[]string{jsonlOverlay(t, path, filepath.Join(dir, "state"), "")})
	gw.start()
	peaks := sample(50*time.Millisecond, func() map[string]float64 {
		out := map[string]float64{}
		if rss, err := gw.anonRSSBytes(); err == nil {
			out["anon"] = float64(rss)
		}
		if rss, err := gw.rssBytes(); err == nil {
			out["rss"] = float64(rss)
		}
		return out
	})

	run := fmt.Sprintf("badjsonl-%d", time.Now().UnixNano())
	lines := badJSONLLines(run)
	var buf bytes.Buffer
	physical, empty := 0, 0
	for _, l := range lines {
		require.NotContains(t, l[1], "\n", l[0])
		buf.WriteString(l[1])
		buf.WriteByte('\n')
		physical++
		// The receiver's definition: nothing but whitespace (a CR included)
		// and escape sequences.
		if strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(l[1], "\x1b[0m", ""), "\x1b[2m", "")) == "" {
			empty++
		}
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	nonEmpty := physical - empty

	var m metrics
	testutil.Eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		gw.alive()
		var err error
		if m, err = gw.scrape(); err != nil {
			return err
		}
		read := m.sumPrefix("otelcol_receiver_jsonl_lines_read")
		emitted := m.sumPrefix("otelcol_receiver_jsonl_records_emitted")
		skipped := m.sumPrefix("otelcol_receiver_jsonl_empty_lines")
		if read != float64(physical) || emitted+skipped != float64(physical) {
			return fmt.Errorf("lines read %v, records emitted %v, empty lines %v; want %d lines, %d non-empty", read, emitted, skipped, physical, nonEmpty)
		}
		return nil
	})
	// The valid lines on both sides of the hostile ones are stored.
	vlogs.WaitForCount(t, fmt.Sprintf("run:=%q", run), 2, time.Minute)
	// And so is every record the receiver emitted, hostile ones included.
	stored := 0
	testutil.Eventually(t, time.Minute, 500*time.Millisecond, func() error {
		rows, err := vlogs.Query(fmt.Sprintf(`"log.file.path":=%s | fields _msg`, strconv.Quote(path)))
		if err != nil {
			return err
		}
		stored = len(rows)
		// VictoriaLogs itself ignores (with a warning, after answering 2xx)
		// an entry with more fields than its limit: the 50000-key record.
		if stored < nonEmpty-1 {
			return fmt.Errorf("%d of %d records stored", stored, nonEmpty-1)
		}
		return nil
	})
	p := peaks.Stop()
	gw.alive()
	t.Logf("RESULT bad JSONL: %d lines (%d bytes; %d non-empty, %d empty); receiver read %.0f, emitted %.0f, empty %.0f, non-JSON %.0f, truncated %.0f, repaired UTF-8 %.0f, delivery failures %.0f; stored %d; peak RSS %s, anonymous %s",
		physical, buf.Len(), nonEmpty, empty,
		m.sumPrefix("otelcol_receiver_jsonl_lines_read"), m.sumPrefix("otelcol_receiver_jsonl_records_emitted"),
		m.sumPrefix("otelcol_receiver_jsonl_empty_lines"), m.sumPrefix("otelcol_receiver_jsonl_non_json_lines"),
		m.sumPrefix("otelcol_receiver_jsonl_truncated_lines"), m.sumPrefix("otelcol_receiver_jsonl_repaired_lines"),
		m.sumPrefix("otelcol_receiver_jsonl_delivery_failures"), stored, mib(p["rss"]), mib(p["anon"]))
	assert.Equal(t, float64(nonEmpty), m.sumPrefix("otelcol_receiver_jsonl_records_emitted"), "every non-empty line is one record")
	assert.Equal(t, float64(empty), m.sumPrefix("otelcol_receiver_jsonl_empty_lines"), "every empty line is counted")
	assert.Less(t, p["anon"], float64(512<<20), "memory while reading hostile lines")
}
