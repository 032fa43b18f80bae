package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// pipelineYAML is the pipeline of the comparison: OTLP in, memory_limiter,
// (dynamo,) batch, OTLP out to the harness's sink. __PROCESSORS__ is the
// processor list.
const pipelineYAML = `
extensions:
  health_check:
    endpoint: __HEALTH__
  pprof:
    endpoint: __PPROF__
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: __OTLP__
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 1500
    spike_limit_mib: 300
  batch: {}
__DYNAMO__
exporters:
  otlp_grpc:
    endpoint: __SINK__
    tls:
      insecure: true
service:
  extensions: [health_check__PPROFEXT__]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [__PROCESSORS__]
      exporters: [otlp_grpc]
`

// pipelineVariant is one side of the comparison.
type pipelineVariant struct {
	name       string
	processors string
}

var (
	withDynamo    = pipelineVariant{"dynamo", "memory_limiter, dynamo, batch"}
	withoutDynamo = pipelineVariant{"stock", "memory_limiter, batch"}
)

// pipelineRun is what one measured run found.
type pipelineRun struct {
	spansPerSec float64
	cores       float64 // CPU seconds per second of the collector process
	rss, hwm    int64
	sent, recv  int64
	errors      int
}

// pipelineGenerator is the request mix the pipeline is driven with: every
// version and topology, a few system requests and failures; traces only.
func pipelineGenerator() telemetrygen.Options {
	o := DefaultGenerator()
	o.LogsPerRequest = 0
	return o
}

// spansPerRequest is the mean number of spans of the mix.
func spansPerRequest() float64 {
	g := telemetrygen.NewGenerator(pipelineGenerator())
	n := 0
	const reqs = 5000
	for range reqs {
		n += len(g.Next(time.Now()).Spans)
	}
	return float64(n) / reqs
}

// runPipeline starts a collector with the variant's pipeline, drives it with
// the generator at spansPerSec (0: as fast as it accepts), and measures the
// collector's CPU time and memory over the measure window after warm-up.
// Every span sent must arrive at the sink, and with the dynamo processor
// every span of an inference request must carry its x_request_id.
func runPipeline(tb testing.TB, v pipelineVariant, spansPerSec float64, warm, measure time.Duration) pipelineRun {
	tb.Helper()
	sink, err := NewSink("127.0.0.1:0")
	require.NoError(tb, err)
	var missing, inference int64
	if v == withDynamo {
		sink.OnTraces = func(td ptrace.Traces) {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						if s.Name() == dynamo.SystemSpanName {
							continue
						}
						inference++
						if _, ok := s.Attributes().Get(dynamo.XRequestID); !ok {
							missing++
						}
					}
				}
			}
		}
	}
	sink.Start()
	defer sink.Stop()
	otlp := testutil.FreeAddr(tb)
	dyn := ""
	if v == withDynamo {
		dyn = "  dynamo: {}"
	}
	pprofAddr, pprofExt := testutil.FreeAddr(tb), ""
	profileDir := os.Getenv("BENCH_PPROF_DIR")
	if profileDir != "" {
		pprofExt = ", pprof"
	}
	cfg := strings.NewReplacer("__OTLP__", otlp, "__SINK__", sink.Addr(), "__PROCESSORS__", v.processors,
		"__DYNAMO__", dyn, "__PPROF__", pprofAddr, "__PPROFEXT__", pprofExt).Replace(pipelineYAML)
	col := startCollector(tb, "otelcol-"+v.name, cfg)
	defer col.stop()

	reqRate := 0.0
	if spansPerSec > 0 {
		reqRate = spansPerSec / spansPerRequest()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		m   *telemetrygen.Manifest
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := telemetrygen.Run(ctx, telemetrygen.Config{
			Generator: pipelineGenerator(),
			OTLP:      telemetrygen.SenderOptions{Endpoint: otlp, Insecure: true},
			Rate:      reqRate,
			Duration:  warm + measure,
			RootDelay: 100 * time.Millisecond,
		})
		done <- result{m, err}
	}()
	time.Sleep(warm)
	u0, s0, t0 := col.usage(tb), sink.Spans(), time.Now()
	if profileDir != "" {
		name := fmt.Sprintf("%s-%s.pprof", v.name, rateName(spansPerSec))
		go fetchProfile(tb, pprofAddr, filepath.Join(profileDir, name), measure)
	}
	time.Sleep(measure)
	u1, s1, t1 := col.usage(tb), sink.Spans(), time.Now()
	res := <-done
	require.NoError(tb, res.err)
	sent := int64(res.m.Totals.Spans)
	require.NoError(tb, sink.WaitSpans(sent, time.Minute))
	// Nothing extra either.
	time.Sleep(300 * time.Millisecond)
	require.Equal(tb, sent, sink.Spans(), "spans sent and received")
	if v == withDynamo {
		require.Zerof(tb, missing, "%d of %d inference spans without x_request_id", missing, inference)
	}
	wall := t1.Sub(t0).Seconds()
	return pipelineRun{
		spansPerSec: float64(s1-s0) / wall,
		cores:       (u1.CPU - u0.CPU).Seconds() / wall,
		rss:         u1.RSS,
		hwm:         u1.HWM,
		sent:        sent,
		recv:        sink.Spans(),
		errors:      res.m.SendErrors,
	}
}

// fetchProfile saves a CPU profile of the collector over d
// (BENCH_PPROF_DIR set: the pprof extension is on).
func fetchProfile(tb testing.TB, addr, path string, d time.Duration) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())))
	if err != nil {
		tb.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		tb.Logf("profile: %v", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

func rateName(spansPerSec float64) string {
	if spansPerSec <= 0 {
		return "rate=max"
	}
	return fmt.Sprintf("rate=%dk", int(spansPerSec)/1000)
}

// pipelineSeconds is the measure window (BENCH_PIPELINE_SECONDS, default 5).
func pipelineSeconds() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("BENCH_PIPELINE_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 5 * time.Second
}

// BenchmarkPipeline drives the whole collector process over OTLP at fixed
// rates and flat out, with and without the dynamo processor, and reports
// the collector's CPU (from /proc: utime+stime of every thread) per 10k
// spans/s and its memory. Each sub-benchmark is one measured run of
// BENCH_PIPELINE_SECONDS after 2 s of warm-up, whatever b.N is.
func BenchmarkPipeline(b *testing.B) {
	variants := []pipelineVariant{withDynamo, withoutDynamo}
	if !hasComponent(b, "dynamo") {
		variants = variants[1:]
	}
	for _, rate := range []int{10000, 50000, 100000, 0} {
		name := rateName(float64(rate))
		for _, v := range variants {
			b.Run(name+"/"+v.name, func(b *testing.B) {
				r := runPipeline(b, v, float64(rate), 2*time.Second, pipelineSeconds())
				b.ReportMetric(r.spansPerSec, "spans/s")
				b.ReportMetric(r.cores*100, "cpu-%")
				if r.spansPerSec > 0 {
					b.ReportMetric(r.cores*100/(r.spansPerSec/10000), "cpu-%/10k-spans/s")
				}
				b.ReportMetric(float64(r.rss)/(1<<20), "rss-MiB")
				b.ReportMetric(float64(r.hwm)/(1<<20), "peak-rss-MiB")
			})
		}
	}
}

// TestPipelineDeliversEverything is the correctness check of
// BenchmarkPipeline: a short run of each variant delivers every span, and
// with the dynamo processor every inference span carries x_request_id.
func TestPipelineDeliversEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts collector processes")
	}
	variants := []pipelineVariant{withDynamo, withoutDynamo}
	if !hasComponent(t, "dynamo") {
		variants = variants[1:]
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := runPipeline(t, v, 5000, 200*time.Millisecond, time.Second)
			t.Logf("%s: %d spans sent, %d received, %.0f spans/s, %.1f%% of a core", v.name, r.sent, r.recv, r.spansPerSec, r.cores*100)
		})
	}
}
