package telemetrygen

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleLines generates the JSONL lines of a few requests of every version.
func sampleLines(t *testing.T, n int) []JSONLLine {
	t.Helper()
	g := NewGenerator(Options{Seed: 11, SpanEvents: true, FailureShare: 0.3})
	var out []JSONLLine
	for i := 0; i < n; i++ {
		out = append(out, g.Next(time.Now()).JSONL...)
	}
	return out
}

// readFiles returns the lines of files, in order.
func readFiles(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return out
}

// expected returns the raw lines each service's file must hold.
func expected(lines []JSONLLine) map[string][]string {
	want := map[string][]string{}
	for i := range lines {
		want[lines[i].Service] = append(want[lines[i].Service], string(AppendJSONL(nil, &lines[i])))
	}
	return want
}

func writeAll(t *testing.T, opts JSONLWriterOptions, lines []JSONLLine) *JSONLWriter {
	t.Helper()
	w, err := NewJSONLWriter(opts)
	require.NoError(t, err)
	for i := range lines {
		require.NoError(t, w.Write(&lines[i]))
		if i%7 == 0 {
			require.NoError(t, w.Flush())
		}
	}
	require.NoError(t, w.Close())
	return w
}

func TestJSONLWriterRaw(t *testing.T) {
	lines := sampleLines(t, 20)
	dir := t.TempDir()
	w := writeAll(t, JSONLWriterOptions{Dir: dir, Format: FormatRaw}, lines)
	want := expected(lines)
	assert.Len(t, w.Paths(), len(want), "one file per service")
	for svc, l := range want {
		assert.Equal(t, l, readFiles(t, filepath.Join(dir, svc+".log")), svc)
		assert.Equal(t, len(l), w.Lines()[svc])
	}
}

var criRe = regexp.MustCompile(`^(\S+) stderr ([PF]) (.*)$`)

func TestJSONLWriterCRIWithPartialLines(t *testing.T) {
	lines := sampleLines(t, 10)
	dir := t.TempDir()
	const split = 100
	writeAll(t, JSONLWriterOptions{Dir: dir, Format: FormatCRI, CRISplit: split}, lines)
	partials := 0
	for svc, want := range expected(lines) {
		var got []string
		var cur strings.Builder
		for _, rec := range readFiles(t, filepath.Join(dir, svc+".log")) {
			m := criRe.FindStringSubmatch(rec)
			require.NotNil(t, m, "CRI record: %q", rec)
			_, err := time.Parse(time.RFC3339Nano, m[1])
			require.NoError(t, err)
			assert.LessOrEqual(t, len(m[3]), split)
			cur.WriteString(m[3]) // joined byte for byte
			if m[2] == "P" {
				partials++
				continue
			}
			got = append(got, cur.String())
			cur.Reset()
		}
		assert.Equal(t, want, got, svc)
	}
	assert.Positive(t, partials, "long lines were split into partial records")
}

func TestJSONLWriterDocker(t *testing.T) {
	lines := sampleLines(t, 10)
	dir := t.TempDir()
	writeAll(t, JSONLWriterOptions{Dir: dir, Format: FormatDocker}, lines)
	for svc, want := range expected(lines) {
		var got []string
		for _, rec := range readFiles(t, filepath.Join(dir, svc+".log")) {
			var d struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Time   string `json:"time"`
			}
			require.NoError(t, json.Unmarshal([]byte(rec), &d), rec)
			assert.Equal(t, "stderr", d.Stream)
			assert.True(t, strings.HasSuffix(d.Log, "\n"))
			_, err := time.Parse(time.RFC3339Nano, d.Time)
			require.NoError(t, err)
			got = append(got, strings.TrimSuffix(d.Log, "\n"))
		}
		assert.Equal(t, want, got, svc)
	}
}

func TestJSONLWriterRotation(t *testing.T) {
	lines := sampleLines(t, 40)
	dir := t.TempDir()
	const rotate = 4096
	w := writeAll(t, JSONLWriterOptions{Dir: dir, Format: FormatRaw, RotateBytes: rotate}, lines)
	want := expected(lines)
	rotated := 0
	for svc, l := range want {
		// Rotated files first (oldest first), then the live file.
		var files []string
		for i := 1; ; i++ {
			p := filepath.Join(dir, svc+".log."+strconv.Itoa(i))
			if _, err := os.Stat(p); err != nil {
				break
			}
			files = append(files, p)
		}
		rotated += len(files)
		files = append(files, filepath.Join(dir, svc+".log"))
		for _, p := range files {
			st, err := os.Stat(p)
			require.NoError(t, err)
			assert.LessOrEqual(t, st.Size(), int64(rotate), p)
		}
		assert.Equal(t, l, readFiles(t, files...), "%s: every line once, in order, across rotations", svc)
	}
	assert.Positive(t, rotated)
	assert.Len(t, w.Paths(), len(want)+rotated)
}
