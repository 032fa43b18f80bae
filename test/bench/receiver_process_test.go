package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// receiverProcessConfig is a collector that reads files of dir with the
// candidate receiver and sends the records through batch to the sink.
// With BENCH_PPROF_DIR set, the pprof extension listens on pprofAddr.
func receiverProcessConfig(tb testing.TB, c receiverCandidate, glob, sink, pprofAddr string) string {
	tb.Helper()
	var recv map[string]any
	switch c.name {
	case "jsonl":
		recv = receiverYAML(tb, jsonlYAML, glob)
	default:
		recv = fileLogYAML(tb, glob)
	}
	extensions := map[string]any{"health_check": map[string]any{"endpoint": "__HEALTH__"}}
	enabled := "[health_check]"
	if os.Getenv("BENCH_PPROF_DIR") != "" {
		extensions["pprof"] = map[string]any{"endpoint": pprofAddr}
		enabled = "[health_check, pprof]"
	}
	cfg := map[string]any{
		"extensions": extensions,
		"receivers":  recv,
		"processors": map[string]any{"batch": map[string]any{}},
		"exporters": map[string]any{"otlp_grpc": map[string]any{
			"endpoint": sink,
			"tls":      map[string]any{"insecure": true},
			// No queue: back-pressure reaches the receiver, so the peak RSS
			// is the receiver's and not a backlog of export requests.
			"sending_queue": map[string]any{"enabled": false},
		}},
	}
	out, err := yaml.Marshal(cfg)
	require.NoError(tb, err)
	// service last: startCollector appends its telemetry settings to it.
	return string(out) + `service:
  extensions: ` + enabled + `
  pipelines:
    logs:
      receivers: [` + c.name + `]
      processors: [batch]
      exporters: [otlp_grpc]
`
}

// receiverProfileWindow is how long BenchmarkReceiverProcess profiles a
// collector from the moment the file appears (BENCH_PPROF_DIR set).
const receiverProfileWindow = 10 * time.Second

// receiverProcessLines is the size of the file BenchmarkReceiverProcess
// reads.
const receiverProcessLines = 200000

// BenchmarkReceiverProcess measures each receiver as a whole collector
// process (the distribution's binary: receiver → batch → OTLP without a
// sending queue to the harness's sink): the collector starts idle, a file of Dynamo JSONL lines
// appears in the directory it watches, and the collector's CPU time (its
// process CPU clock) and peak RSS (VmHWM) are read when the sink has every
// record. One
// measured run per sub-benchmark, whatever b.N is.
func BenchmarkReceiverProcess(b *testing.B) {
	src := filepath.Join(b.TempDir(), "dynamo.log")
	lines, size, err := WriteLines(src, LinesOptions{Lines: receiverProcessLines})
	require.NoError(b, err)
	for _, c := range receiverCandidates {
		b.Run(c.name, func(b *testing.B) {
			r := readInProcess(b, c, src, lines)
			b.SetBytes(size)
			b.ReportMetric(float64(lines)/r.cpu.Seconds(), "lines/cpu-s")
			b.ReportMetric(float64(r.cpu.Nanoseconds())/float64(lines), "cpu-ns/line")
			b.ReportMetric(float64(r.peak)/(1<<20), "peak-rss-MiB")
			b.ReportMetric(float64(r.idle)/(1<<20), "idle-rss-MiB")
		})
	}
}

type processRead struct {
	cpu        time.Duration
	peak, idle int64
}

// readInProcess starts a collector whose receiver watches an empty
// directory, links src into it and waits until the sink has every record.
func readInProcess(tb testing.TB, c receiverCandidate, src string, lines int) processRead {
	tb.Helper()
	if !hasComponent(tb, c.factory.Type().String()) {
		tb.Skipf("%s is not in the collector binary", c.factory.Type())
	}
	dir := tb.TempDir()
	sink, err := NewSink("127.0.0.1:0")
	require.NoError(tb, err)
	sink.Start()
	defer sink.Stop()
	col, addrs := startCollector(tb, "otelcol-"+c.name, func(addrs [3]string) string {
		return receiverProcessConfig(tb, c, filepath.Join(dir, "*.log"), sink.Addr(), addrs[2])
	})
	defer col.stop()
	time.Sleep(500 * time.Millisecond)
	u0 := col.usage(tb)
	if dir := os.Getenv("BENCH_PPROF_DIR"); dir != "" {
		// A profile of the next seconds, which the read falls within.
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			fetchProfile(tb, addrs[2], filepath.Join(dir, "receiver-"+c.name+".pprof"), receiverProfileWindow)
		}()
	}
	// A hard link: the whole file appears at once, and the next candidate
	// reads the same bytes.
	require.NoError(tb, os.Link(src, filepath.Join(dir, "dynamo.log")))
	require.NoError(tb, sink.WaitRecords(int64(lines), 5*time.Minute))
	u1 := col.usage(tb)
	time.Sleep(200 * time.Millisecond)
	require.Equal(tb, int64(lines), sink.Records(), "%s: records received", c.name)
	return processRead{cpu: u1.CPU - u0.CPU, peak: u1.HWM, idle: u0.RSS}
}

// TestReceiverProcessReadsEverything is the correctness check of
// BenchmarkReceiverProcess: in the collector binary, each receiver's
// configuration delivers one record per line of the file.
func TestReceiverProcessReadsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts collector processes")
	}
	src := filepath.Join(t.TempDir(), "dynamo.log")
	lines, _, err := WriteLines(src, LinesOptions{Lines: 2000})
	require.NoError(t, err)
	for _, c := range receiverCandidates {
		t.Run(c.name, func(t *testing.T) { readInProcess(t, c, src, lines) })
	}
}
