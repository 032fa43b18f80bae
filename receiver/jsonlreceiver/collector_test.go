package jsonlreceiver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

const collectorConfig = `
extensions:
  file_storage:
    directory: %[1]s/storage
receivers:
  %[2]s:
    include: [%[1]s/logs/*.log]
    start_at: beginning
    poll_interval: 50ms
    storage: file_storage
exporters:
  file:
    path: ${env:OUT_FILE}
    # With rotation set the exporter writes through, unbuffered: what it
    # accepted is on disk when the process is killed.
    rotation:
      max_megabytes: 10000
service:
  extensions: [file_storage]
  pipelines:
    logs:
      receivers: [%[2]s]
      exporters: [file]
  telemetry:
    metrics:
      level: none
`

// exportedSeqs reads the file exporter's output (one OTLP JSON request per
// line) and returns the seq attribute of every record.
func exportedSeqs(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []int64
	var u plog.JSONUnmarshaler
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		ld, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			// A request cut by kill -9 in the middle of its write.
			t.Logf("skipping an incomplete exported line (%d bytes): %v", len(sc.Bytes()), err)
			continue
		}
		for lr := range testutil.LogRecords(ld) {
			if v, ok := lr.Attributes().Get("seq"); ok {
				out = append(out, v.Int())
				continue
			}
			// The stock file_log receiver keeps the line as the body.
			var line struct {
				Seq *int64 `json:"seq"`
			}
			require.NoError(t, json.Unmarshal([]byte(lr.Body().Str()), &line))
			require.NotNil(t, line.Seq)
			out = append(out, *line.Seq)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// The real collector binary with jsonl + file_storage + the file exporter
// is killed with SIGKILL in the middle of a file and started again on the
// same storage: every line arrives, and at most one batch twice.
func TestCollectorKill9ResumesWithoutLoss(t *testing.T) {
	dups := kill9AndRestart(t, "jsonl")
	assert.LessOrEqual(t, dups, 100, "more than one batch (100 lines) repeated")
}

// The same with the stock file_log receiver, for comparison: it loses
// nothing either, but repeats everything read since its last per-poll
// checkpoint (here, since the start).
func TestCollectorKill9StockFileLogForComparison(t *testing.T) {
	if testing.Short() {
		t.Skip("comparison only")
	}
	kill9AndRestart(t, "file_log")
}

// kill9AndRestart runs the scenario with the given receiver type and
// returns how many lines were delivered twice; it fails on any loss.
func kill9AndRestart(t *testing.T, receiverType string) int {
	bin := testutil.CollectorBinary(t)
	dir := t.TempDir()
	for _, sub := range []string{"logs", "storage", "out"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(collectorConfig, dir, receiverType)), 0o600))
	const n = 40000
	appendLines(t, filepath.Join(dir, "logs", "worker.log"), 0, n)
	out1, out2 := filepath.Join(dir, "out", "run1.jsonl"), filepath.Join(dir, "out", "run2.jsonl")
	last := []byte(`{"key":"seq","value":{"intValue":"` + strconv.Itoa(n-1) + `"}}`)
	if receiverType != "jsonl" {
		last = []byte(`\"seq\":` + strconv.Itoa(n-1) + `,`)
	}

	p1 := testutil.StartProcess(t, "otelcol-dynamo (first run)", bin, []string{"--config", cfgPath}, []string{"OUT_FILE=" + out1})
	testutil.Eventually(t, 60*time.Second, 5*time.Millisecond, func() error {
		if p1.Exited() {
			t.Fatalf("collector exited")
		}
		if st, err := os.Stat(out1); err != nil || st.Size() < 512<<10 {
			return fmt.Errorf("output not yet 512 KiB")
		}
		return nil
	})
	p1.Kill()
	before := exportedSeqs(t, out1)
	if len(before) >= n && receiverType != "jsonl" {
		t.Skipf("%s exported the whole file before the kill", receiverType)
	}
	require.Less(t, len(before), n, "the kill must land in the middle of the file")

	p2 := testutil.StartProcess(t, "otelcol-dynamo (after kill -9)", bin, []string{"--config", cfgPath}, []string{"OUT_FILE=" + out2})
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if p2.Exited() {
			t.Fatalf("collector exited")
		}
		b, err := os.ReadFile(out2)
		if err != nil || !bytes.Contains(b, last) {
			return fmt.Errorf("line %d not exported yet", n-1)
		}
		return nil
	})
	p2.Stop(10 * time.Second)

	after := exportedSeqs(t, out2)
	all := append(append([]int64(nil), before...), after...)
	dups := checkAll(t, all, n)
	t.Logf("%s: kill -9 after %d of %d lines were exported; after the restart %d more arrived; %d lines twice",
		receiverType, len(before), n, len(after), dups)
	return dups
}
