package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"
)

// receiverCandidate is one receiver configuration reading a given file from
// its beginning.
type receiverCandidate struct {
	name    string
	factory receiver.Factory
	config  func(tb testing.TB, path string) component.Config
}

var receiverCandidates = []receiverCandidate{
	{name: "jsonl", factory: jsonlreceiver.NewFactory(), config: jsonlConfig},
	{name: "file_log", factory: filelogreceiver.NewFactory(), config: fileLogConfig},
}

// jsonlYAML is the jsonl receiver's configuration in the comparison: its
// defaults, reading from the beginning and polling as often as file_log.
const jsonlYAML = `
jsonl:
  include: [__INCLUDE__]
  start_at: beginning
  poll_interval: 10ms
`

func jsonlConfig(tb testing.TB, path string) component.Config {
	return loadReceiverConfig(tb, jsonlreceiver.NewFactory(), "jsonl", receiverYAML(tb, jsonlYAML, path))
}

func fileLogConfig(tb testing.TB, path string) component.Config {
	return loadReceiverConfig(tb, filelogreceiver.NewFactory(), "file_log", fileLogYAML(tb, path))
}

// fileLogYAML is testdata/filelog.yaml reading path.
func fileLogYAML(tb testing.TB, path string) map[string]any {
	tb.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "filelog.yaml"))
	require.NoError(tb, err)
	out, err := yaml.Marshal(cm.ToStringMap())
	require.NoError(tb, err)
	return receiverYAML(tb, string(out), path)
}

func receiverYAML(tb testing.TB, text, path string) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, yaml.Unmarshal([]byte(strings.ReplaceAll(text, "__INCLUDE__", path)), &m))
	return m
}

func loadReceiverConfig(tb testing.TB, f receiver.Factory, key string, m map[string]any) component.Config {
	tb.Helper()
	cm := confmapFrom(m)
	sub, err := cm.Sub(key)
	require.NoError(tb, err)
	cfg := f.CreateDefaultConfig()
	require.NoError(tb, sub.Unmarshal(cfg))
	require.NoError(tb, validate(cfg))
	return cfg
}

// doneCounter counts log records and closes done when want have arrived.
type doneCounter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
	keep func(plog.Logs)
}

func newDoneCounter(want int) *doneCounter {
	return &doneCounter{want: int64(want), done: make(chan struct{})}
}

func (c *doneCounter) consumer() consumer.Logs {
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if c.keep != nil {
			c.keep(ld)
		}
		if n := c.n.Add(int64(ld.LogRecordCount())); n >= c.want && n-int64(ld.LogRecordCount()) < c.want {
			close(c.done)
		}
		return nil
	})
	return next
}

// readFile starts a fresh receiver on path, waits until it has delivered
// want records and shuts it down.
func readFile(tb testing.TB, c receiverCandidate, path string, want int, keep func(plog.Logs)) {
	tb.Helper()
	readFileWith(tb, c, c.config(tb, path), want, keep)
}

// readFileWith is readFile with the receiver's configuration made
// beforehand (benchmarks make it outside their measured sections).
func readFileWith(tb testing.TB, c receiverCandidate, cfg component.Config, want int, keep func(plog.Logs)) {
	tb.Helper()
	cnt := newDoneCounter(want)
	cnt.keep = keep
	r, err := c.factory.CreateLogs(context.Background(), receivertest.NewNopSettings(c.factory.Type()), cfg, cnt.consumer())
	require.NoError(tb, err)
	require.NoError(tb, r.Start(context.Background(), componenttest.NewNopHost()))
	select {
	case <-cnt.done:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("%s: %d of %d records after 2m", c.name, cnt.n.Load(), want)
	}
	require.NoError(tb, r.Shutdown(context.Background()))
	if got := cnt.n.Load(); got != int64(want) {
		tb.Fatalf("%s: %d records from %d lines", c.name, got, want)
	}
}

// benchReceiver reads the same file b.N times, each time with a fresh
// receiver from the beginning, and reports lines per CPU-second.
func benchReceiver(b *testing.B, c receiverCandidate, path string, lines int, size int64) {
	m := NewMeter(b)
	b.ReportAllocs()
	b.SetBytes(size)
	for range b.N {
		// Loading the configuration (YAML, operators) is not reading.
		cfg := c.config(b, path)
		m.Start()
		readFileWith(b, c, cfg, lines, nil)
		m.Stop()
	}
	m.Report(lines*b.N, "line")
}

// receiverLines is the file of BenchmarkReceiver.
const receiverLines = 20000

// BenchmarkReceiver compares the jsonl receiver with file_log and its
// operators (testdata/filelog.yaml) reading the same file of Dynamo JSONL
// lines from the beginning: one op is the whole file.
func BenchmarkReceiver(b *testing.B) {
	path := filepath.Join(b.TempDir(), "dynamo.log")
	lines, size, err := WriteLines(path, LinesOptions{Lines: receiverLines})
	require.NoError(b, err)
	for _, c := range receiverCandidates {
		b.Run(c.name, func(b *testing.B) { benchReceiver(b, c, path, lines, size) })
	}
}

// BenchmarkReceiverLineLength is the same comparison with lines padded to a
// given length.
func BenchmarkReceiverLineLength(b *testing.B) {
	for _, n := range []int{256, 1024, 4096, 16384} {
		path := filepath.Join(b.TempDir(), fmt.Sprintf("dynamo-%d.log", n))
		lines, size, err := WriteLines(path, LinesOptions{Lines: 2 << 20 / n, MinLength: n})
		require.NoError(b, err)
		for _, c := range receiverCandidates {
			b.Run(fmt.Sprintf("bytes=%d/%s", n, c.name), func(b *testing.B) { benchReceiver(b, c, path, lines, size) })
		}
	}
}
