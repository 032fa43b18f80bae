package jsonlreceiver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// longLine is line n of TestRetainedRecordsKeepTheirLines: a long message, a
// long attribute and a short one, all different on every line, as JSON, and
// the message and the long attribute alone.
func longLine(n int) (line, message, detail string) {
	message = strings.Repeat(fmt.Sprintf("message of line %05d; ", n), 60)
	detail = strings.Repeat(fmt.Sprintf("d%05d", n), 300)
	return fmt.Sprintf(`{"level":"INFO","message":%q,"seq":%d,"detail":%q,"tag":"t%05d"}`, message, n, detail, n), message, detail
}

// TestRetainedRecordsKeepTheirLines reads files of long lines, raw and
// wrapped, and checks every record only once all were read. Records keep
// long values as views of the lines fileconsumer hands over (see
// tailer.emit): if it reused a line's buffer for a later one, the earlier
// records would change under the sink.
func TestRetainedRecordsKeepTheirLines(t *testing.T) {
	const lines = 400 // 1.8 MB: many reads through fileconsumer's buffers
	wrap := map[string]func(n int, line string) string{
		"raw": func(_ int, line string) string { return line },
		"cri": func(n int, line string) string {
			if n%3 != 0 {
				return "2026-07-30T18:04:11.4Z stderr F " + line
			}
			// Every third line split by the runtime: joined from a reused buffer.
			half := len(line) / 2
			return "2026-07-30T18:04:11.4Z stderr P " + line[:half] + "\n2026-07-30T18:04:11.4Z stderr F " + line[half:]
		},
		"docker": func(_ int, line string) string {
			return `{"log":"` + strings.ReplaceAll(line, `"`, `\"`) + `\n","stream":"stderr","time":"2026-07-30T18:04:11.4Z"}`
		},
	}
	for name, w := range wrap {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			for n := range lines {
				line, _, _ := longLine(n)
				b.WriteString(w(n, line))
				b.WriteByte('\n')
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte(b.String()), 0o600))
			s := &sink{}
			start(t, testConfig(dir), s, nil)
			s.waitFor(t, lines)
			recs := s.all()
			require.Len(t, recs, lines)
			for i, lr := range recs {
				seq, ok := lr.Attributes().Get("seq")
				require.True(t, ok)
				_, message, detail := longLine(int(seq.Int()))
				require.Equal(t, message, lr.Body().Str(), "record %d, line %d", i, seq.Int())
				got, ok := lr.Attributes().Get("detail")
				require.True(t, ok)
				require.Equal(t, detail, got.Str(), "record %d, line %d", i, seq.Int())
				got, ok = lr.Attributes().Get("tag")
				require.True(t, ok)
				require.Equal(t, fmt.Sprintf("t%05d", seq.Int()), got.Str(), "record %d", i)
			}
		})
	}
}
