// Package testbackend starts the real trace and log stores that integration
// and end-to-end tests run against: Jaeger v2 (OTLP in, tag search) and
// VictoriaLogs (Loki push API and OTLP logs in). Each runs as a child process on
// free loopback ports, with its data in the test's temporary directory, and is
// stopped when the test ends.
//
// The binaries come from scripts/backends.sh, which builds them once and caches
// them under $HOME/.cache; $JAEGER_BIN and $VICTORIALOGS_BIN override that.
package testbackend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

var (
	binMu    sync.Mutex
	binPaths = map[string]string{}
)

// binary returns the path of a backend binary, building it through
// scripts/backends.sh when needed.
func binary(tb testing.TB, which, envVar string) string {
	tb.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPaths[envVar]; ok {
		return p
	}
	cmd := exec.Command("bash", filepath.Join(testutil.RepoRoot(tb), "scripts", "backends.sh"), which)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("scripts/backends.sh %s: %v\n%s", which, err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == envVar {
			binPaths[envVar] = v
			return v
		}
	}
	tb.Fatalf("scripts/backends.sh %s printed no %s line:\n%s", which, envVar, out)
	return ""
}

// VictoriaLogs is a running VictoriaLogs process.
type VictoriaLogs struct {
	// Addr is host:port of its HTTP listener.
	Addr string
	Proc *testutil.Process
}

// startAttempts is how many times a store is started on fresh ports when it
// exits during start-up (a port picked as free can be taken by another
// process before the store binds it).
const startAttempts = 3

// waitReady polls ready until it succeeds, the process exits, or timeout
// passes.
func waitReady(p *testutil.Process, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited during start-up:\n%s", p.Name, p.Output())
		}
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			p.Kill()
			return fmt.Errorf("%s not ready within %s: %w\n%s", p.Name, timeout, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartVictoriaLogs starts VictoriaLogs on a free loopback port and waits until
// it answers its health endpoint.
func StartVictoriaLogs(tb testing.TB) *VictoriaLogs {
	tb.Helper()
	bin := binary(tb, "victorialogs", "VICTORIALOGS_BIN")
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		addr := testutil.FreeAddr(tb)
		proc := testutil.StartProcess(tb, "victoria-logs", bin, []string{
			"-httpListenAddr=" + addr,
			"-storageDataPath=" + filepath.Join(tb.TempDir(), "vlogs"),
			"-retentionPeriod=100y",
			"-loggerLevel=WARN",
		}, nil)
		vl := &VictoriaLogs{Addr: addr, Proc: proc}
		if err = waitReady(proc, 30*time.Second, func() error { return httpOK(vl.URL("/health")) }); err == nil {
			return vl
		}
		tb.Logf("start VictoriaLogs, attempt %d: %v", attempt, err)
	}
	tb.Fatalf("start VictoriaLogs: %v", err)
	return nil
}

// URL returns the full URL of path on this VictoriaLogs.
func (v *VictoriaLogs) URL(path string) string { return "http://" + v.Addr + path }

// LokiPushURL is the Loki push API endpoint.
func (v *VictoriaLogs) LokiPushURL() string { return v.URL("/insert/loki/api/v1/push") }

// OTLPLogsEndpoint is the base for an otlp_http exporter (which appends /v1/logs).
func (v *VictoriaLogs) OTLPLogsEndpoint() string { return v.URL("/insert/opentelemetry") }

// Query runs a LogsQL query and returns one map per matching log entry.
func (v *VictoriaLogs) Query(query string) ([]map[string]any, error) {
	resp, err := http.PostForm(v.URL("/select/logsql/query"), url.Values{"query": {query}, "limit": {"1000000"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("query %q: %s: %s", query, resp.Status, b)
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("decode %q: %w", line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// WaitForCount polls query until it returns exactly want entries (new data is
// searchable after a second or two) and returns them.
func (v *VictoriaLogs) WaitForCount(tb testing.TB, query string, want int, timeout time.Duration) []map[string]any {
	tb.Helper()
	var got []map[string]any
	testutil.Eventually(tb, timeout, 250*time.Millisecond, func() error {
		var err error
		got, err = v.Query(query)
		if err != nil {
			return err
		}
		if len(got) != want {
			return fmt.Errorf("query %q: %d entries, want %d", query, len(got), want)
		}
		return nil
	})
	return got
}

// Jaeger is a running Jaeger v2 process with an in-memory trace store.
type Jaeger struct {
	// OTLPGRPC and OTLPHTTP are host:port of its OTLP receivers.
	OTLPGRPC, OTLPHTTP string
	// QueryAddr is host:port of its query HTTP API (/api/traces, /api/v3/...).
	QueryAddr string
	Proc      *testutil.Process
}

const jaegerConfig = `
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: %[1]s
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: %[2]s
    grpc:
      endpoint: %[3]s
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %[4]s
      http:
        endpoint: %[5]s
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// StartJaeger starts Jaeger v2 on free loopback ports and waits until its
// query API answers.
func StartJaeger(tb testing.TB) *Jaeger {
	tb.Helper()
	bin := binary(tb, "jaeger", "JAEGER_BIN")
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		health := testutil.FreeAddr(tb)
		j := &Jaeger{
			QueryAddr: testutil.FreeAddr(tb),
			OTLPGRPC:  testutil.FreeAddr(tb),
			OTLPHTTP:  testutil.FreeAddr(tb),
		}
		cfg := filepath.Join(tb.TempDir(), "jaeger.yaml")
		body := fmt.Sprintf(jaegerConfig, health, j.QueryAddr, testutil.FreeAddr(tb), j.OTLPGRPC, j.OTLPHTTP)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
		j.Proc = testutil.StartProcess(tb, "jaeger", bin, []string{"--config", cfg}, nil)
		err = waitReady(j.Proc, 60*time.Second, func() error {
			if err := httpOK(j.URL("/api/services")); err != nil {
				return err
			}
			c, err := net.DialTimeout("tcp", j.OTLPGRPC, 200*time.Millisecond)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if err == nil {
			return j
		}
		tb.Logf("start Jaeger, attempt %d: %v", attempt, err)
	}
	tb.Fatalf("start Jaeger: %v", err)
	return nil
}

// URL returns the full URL of path on Jaeger's query API.
func (j *Jaeger) URL(path string) string { return "http://" + j.QueryAddr + path }

// GetJSON fetches path from the query API and decodes the JSON answer into out.
func (j *Jaeger) GetJSON(path string, out any) error {
	resp, err := http.Get(j.URL(path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{code: resp.StatusCode, msg: fmt.Sprintf("GET %s: %s: %s", path, resp.Status, b)}
	}
	return json.Unmarshal(b, out)
}

// statusError is an HTTP answer other than 200 OK.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func isNotFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusNotFound
}

func httpOK(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
