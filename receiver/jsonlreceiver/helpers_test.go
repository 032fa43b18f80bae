package jsonlreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

// sink collects the records a receiver delivers. refuse, when set, is asked
// before each batch is accepted and may refuse it with an error.
type sink struct {
	mu      sync.Mutex
	refuse  func(batch int, ld plog.Logs) error
	batches int
	records []plog.LogRecord
	res     []map[string]any
}

func (s *sink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	if s.refuse != nil {
		if err := s.refuse(s.batches, ld); err != nil {
			return err
		}
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := plog.NewLogRecord()
				lrs.At(k).CopyTo(lr)
				s.records = append(s.records, lr)
				s.res = append(s.res, rl.Resource().Attributes().AsRaw())
			}
		}
	}
	return nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func (s *sink) all() []plog.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.LogRecord(nil), s.records...)
}

// seqs returns the "seq" attribute of every record, in arrival order.
func (s *sink) seqs(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for _, lr := range s.all() {
		v, ok := lr.Attributes().Get("seq")
		require.True(t, ok, "record without seq: %v", lr.Body().AsString())
		out = append(out, v.Int())
	}
	return out
}

// waitFor polls until the sink holds n records.
func (s *sink) waitFor(t *testing.T, n int) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() error {
		if got := s.count(); got < n {
			return fmt.Errorf("%d of %d records", got, n)
		}
		return nil
	})
}

// host offers extensions to the receiver.
type host struct {
	exts map[component.ID]component.Component
}

func (h *host) GetExtensions() map[component.ID]component.Component { return h.exts }

var storageID = component.MustNewIDWithName("file_storage", "jsonl")

// startStorage starts a real file_storage extension on dir.
func startStorage(t *testing.T, dir string) (*host, func()) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	set := extension.Settings{ID: storageID, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, ext.Shutdown(context.Background()))
		}
	}
	t.Cleanup(stop)
	return &host{exts: map[component.ID]component.Component{storageID: ext}}, stop
}

type running struct {
	rcv *jsonlReceiver
	tel *componenttest.Telemetry
}

// start creates and starts a receiver on cfg delivering to next.
func start(t *testing.T, cfg *Config, next consumer.Logs, h component.Host) *running {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // a fixed ID: storage is keyed by it
	set.TelemetrySettings = tel.NewTelemetrySettings()
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if h == nil {
		h = componenttest.NewNopHost()
	}
	require.NoError(t, rcv.Start(context.Background(), h))
	r := &running{rcv: rcv.(*jsonlReceiver), tel: tel}
	t.Cleanup(func() { _ = r.rcv.Shutdown(context.Background()) })
	return r
}

// counter returns the value of one of the receiver's counters.
func (r *running) counter(t *testing.T, name string) int64 {
	t.Helper()
	m, err := r.tel.GetMetric("otelcol_receiver_jsonl_" + name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is not an int sum", name)
	var total int64
	for _, dp := range sum.DataPoints {
		total += dp.Value
	}
	return total
}

func testConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Include = []string{filepath.Join(dir, "*.log")}
	cfg.StartAt = StartAtBeginning
	cfg.PollInterval = 20 * time.Millisecond
	return cfg
}

// seqLine is a Dynamo-shaped JSON line numbered n.
func seqLine(n int) string {
	b, _ := json.Marshal(map[string]any{
		"time":    time.Date(2026, 7, 30, 18, 4, 11, n*1000, time.UTC).Format("2006-01-02T15:04:05.000000Z"),
		"level":   "INFO",
		"file":    "lib/runtime/src/pipeline/network/ingress/push_handler.rs",
		"line":    211,
		"target":  "dynamo_runtime::pipeline::network::ingress::push_handler",
		"message": "request received",
		"seq":     n,
	})
	return string(b)
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer f.Close()
	var buf []byte
	for i := from; i < to; i++ {
		buf = append(buf, seqLine(i)...)
		buf = append(buf, '\n')
	}
	_, err = f.Write(buf)
	require.NoError(t, err)
}

// checkExactlyOnce reports lines missing from got (must be none) and how
// many arrived more than once.
func checkAll(t *testing.T, got []int64, n int) (duplicates int) {
	t.Helper()
	seen := make(map[int64]int, n)
	for _, s := range got {
		seen[s]++
	}
	var missing []int
	for i := 0; i < n; i++ {
		switch c := seen[int64(i)]; {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			duplicates += c - 1
		}
	}
	if len(missing) > 0 {
		sort.Ints(missing)
		t.Fatalf("%d of %d lines missing, first %v", len(missing), n, missing[:min(10, len(missing))])
	}
	require.Len(t, seen, n, "records with a seq outside 0..%d", n-1)
	return duplicates
}

var errRetryable = errors.New("memory limiter: data refused due to high memory usage")

// waitCounter polls until a counter reaches at least n.
func waitCounter(t *testing.T, r *running, name string, n int64) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, 10*time.Millisecond, func() error {
		if got := r.counter(t, name); got < n {
			return fmt.Errorf("%s = %d, want >= %d", name, got, n)
		}
		return nil
	})
}

// waitPolled waits until fileconsumer finished at least two poll cycles
// (the first one registers existing files).
func waitPolled(t *testing.T, r *running) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, 10*time.Millisecond, func() error {
		m, err := r.tel.GetMetric("otelcol_fileconsumer_open_files")
		if err != nil {
			return err
		}
		if s, ok := m.Data.(metricdata.Sum[int64]); ok && len(s.DataPoints) > 0 && s.DataPoints[0].Value > 0 {
			return nil
		}
		return fmt.Errorf("no file open yet")
	})
}
