package reliability

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// long reports whether the full-length runs were asked for
// (RELIABILITY_LONG=1, `make reliability`).
func long() bool { return os.Getenv("RELIABILITY_LONG") == "1" }

// pick returns short in `make test` and full under RELIABILITY_LONG=1.
func pick[T any](short, full T) T {
	if long() {
		return full
	}
	return short
}

// gateway is the collector run as a child process on configs/otelcol-dynamo.yaml
// (plus overlays), on free loopback ports, restartable on the same ports and
// the same storage folder.
type gateway struct {
	t          testing.TB
	configs    []string
	env        []string
	GRPC, HTTP string
	Health     string
	MetricsURL string
	StorageDir string
	proc       *testutil.Process
	starts     int
}

// newGateway prepares (but does not start) a gateway exporting traces to
// tempoEndpoint (OTLP gRPC host:port) and logs to lokiEndpoint (OTLP HTTP base
// URL). overlays are file paths merged over the gateway configuration; env is
// appended to the gateway's environment.
func newGateway(t testing.TB, tempoEndpoint, lokiEndpoint string, overlays []string, env ...string) *gateway {
	t.Helper()
	root := testutil.RepoRoot(t)
	g := &gateway{
		t:          t,
		configs:    append([]string{filepath.Join(root, "configs", "otelcol-dynamo.yaml")}, overlays...),
		GRPC:       testutil.FreeAddr(t),
		HTTP:       testutil.FreeAddr(t),
		Health:     testutil.FreeAddr(t),
		StorageDir: filepath.Join(t.TempDir(), "storage"),
	}
	metricsPort := testutil.FreePort(t)
	g.MetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	g.env = append([]string{
		"OTLP_GRPC_ENDPOINT=" + g.GRPC, "OTLP_HTTP_ENDPOINT=" + g.HTTP,
		"HEALTH_CHECK_ENDPOINT=" + g.Health, "METRICS_HOST=127.0.0.1",
		"METRICS_PORT=" + strconv.Itoa(metricsPort), "STORAGE_DIR=" + g.StorageDir,
		"TEMPO_ENDPOINT=" + tempoEndpoint, "LOKI_ENDPOINT=" + lokiEndpoint,
	}, env...)
	return g
}

// start starts the gateway process and waits until its health check answers.
func (g *gateway) start() {
	g.t.Helper()
	var args []string
	for _, c := range g.configs {
		args = append(args, "--config", c)
	}
	g.starts++
	g.proc = testutil.StartProcess(g.t, fmt.Sprintf("otelcol-dynamo#%d", g.starts), testutil.CollectorBinary(g.t), args, g.env)
	proc := g.proc
	testutil.Eventually(g.t, 60*time.Second, 50*time.Millisecond, func() error {
		if proc.Exited() {
			g.t.Fatalf("collector exited during start-up:\n%s", proc.Output())
		}
		resp, err := http.Get("http://" + g.Health + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})
}

// alive fails the test if the gateway process has exited.
func (g *gateway) alive() {
	g.t.Helper()
	require.False(g.t, g.proc.Exited(), "the collector exited:\n%s", g.proc.Output())
	resp, err := http.Get("http://" + g.Health + "/")
	require.NoError(g.t, err, "health check")
	resp.Body.Close()
	require.Equal(g.t, http.StatusOK, resp.StatusCode, "health check")
}

// rssBytes returns the resident set size of the gateway process.
func (g *gateway) rssBytes() (int64, error) { return statusField(g.proc.Cmd.Process.Pid, "VmRSS:") }

// anonRSSBytes returns the anonymous part of the resident set (heap, stacks):
// the process's own memory, without the pages of files it maps (the
// persistent queue's database is memory-mapped; those pages are the kernel's
// page cache and are reclaimed under memory pressure).
func (g *gateway) anonRSSBytes() (int64, error) {
	return statusField(g.proc.Cmd.Process.Pid, "RssAnon:")
}

func statusField(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// metrics is one scrape of the collector's Prometheus endpoint: series
// (name plus labels, as printed) to value.
type metrics map[string]float64

// scrape reads the gateway's own metrics.
func (g *gateway) scrape() (metrics, error) { return scrapeURL(g.MetricsURL) }

func scrapeURL(u string) (metrics, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds up every series of the metric name whose labels contain all of
// the given label="value" fragments.
func (m metrics) sum(name string, labels ...string) float64 {
	var total float64
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// sumPrefix is sum over every metric whose name starts with prefix (the
// Prometheus exporter may add unit and _total suffixes).
func (m metrics) sumPrefix(prefix string, labels ...string) float64 {
	var total float64
	for series := range m {
		n, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(n, prefix) {
			total += metrics{series: m[series]}.sum(n, labels...)
		}
	}
	return total
}

// sampler records the peak of a value polled in the background.
type sampler struct {
	mu   sync.Mutex
	peak map[string]float64
	stop chan struct{}
	done chan struct{}
}

// sample polls every interval and keeps the maximum of each named value.
func sample(interval time.Duration, poll func() map[string]float64) *sampler {
	s := &sampler{peak: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			for k, v := range poll() {
				s.mu.Lock()
				if v > s.peak[k] {
					s.peak[k] = v
				}
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peaks.
func (s *sampler) Stop() map[string]float64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]float64, len(s.peak))
	for k, v := range s.peak {
		out[k] = v
	}
	return out
}

// mib formats bytes as MiB.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
