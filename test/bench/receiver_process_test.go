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
func receiverProcessConfig(tb testing.TB, c receiverCandidate, glob, sink string) string {
	tb.Helper()
	var recv map[string]any
	switch c.name {
	case "jsonl":
		recv = receiverYAML(tb, jsonlYAML, glob)
	default:
		recv = fileLogYAML(tb, glob)
	}
	cfg := map[string]any{
		"extensions": map[string]any{"health_check": map[string]any{"endpoint": "__HEALTH__"}},
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
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [` + c.name + `]
      processors: [batch]
      exporters: [otlp_grpc]
`
}

// receiverProcessLines is the size of the file BenchmarkReceiverProcess
// reads.
const receiverProcessLines = 200000

// BenchmarkReceiverProcess measures each receiver as a whole collector
// process (the distribution's binary: receiver → batch → OTLP without a
// sending queue to the harness's sink): the collector starts idle, a file of Dynamo JSONL lines
// appears in the directory it watches, and the collector's CPU time (from
// /proc) and peak RSS (VmHWM) are read when the sink has every record. One
// measured run per sub-benchmark, whatever b.N is.
func BenchmarkReceiverProcess(b *testing.B) {
	src := filepath.Join(b.TempDir(), "dynamo.log")
	lines, size, err := WriteLines(src, LinesOptions{Lines: receiverProcessLines})
	require.NoError(b, err)
	for _, c := range receiverCandidates {
		b.Run(c.name, func(b *testing.B) {
			if !hasComponent(b, c.factory.Type().String()) {
				b.Skipf("%s is not in the collector binary", c.factory.Type())
			}
			dir := b.TempDir()
			sink, err := NewSink("127.0.0.1:0")
			require.NoError(b, err)
			sink.Start()
			defer sink.Stop()
			col := startCollector(b, "otelcol-"+c.name, receiverProcessConfig(b, c, filepath.Join(dir, "*.log"), sink.Addr()))
			defer col.stop()
			time.Sleep(500 * time.Millisecond)
			u0 := col.usage(b)
			// A hard link: the whole file appears at once, and the next
			// candidate reads the same bytes.
			require.NoError(b, os.Link(src, filepath.Join(dir, "dynamo.log")))
			require.NoError(b, sink.WaitRecords(int64(lines), 5*time.Minute))
			u1 := col.usage(b)
			time.Sleep(200 * time.Millisecond)
			require.Equal(b, int64(lines), sink.Records(), "records received")
			cpu := (u1.CPU - u0.CPU).Seconds()
			b.SetBytes(size)
			b.ReportMetric(float64(lines)/cpu, "lines/cpu-s")
			b.ReportMetric(cpu*1e9/float64(lines), "cpu-ns/line")
			b.ReportMetric(float64(u1.HWM)/(1<<20), "peak-rss-MiB")
			b.ReportMetric(float64(u0.RSS)/(1<<20), "idle-rss-MiB")
		})
	}
}
