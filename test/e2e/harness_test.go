//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// arrivalTimeout bounds how long data may take from the generator to the
// stores (batching, queues, VictoriaLogs' indexing delay, and the dynamo
// processor holding items while it waits for a trace's root span).
const arrivalTimeout = 90 * time.Second

// scaled multiplies a test's request count by $E2E_SCALE (default 1), for
// longer runs than make test's.
func scaled(n int) int {
	f, err := strconv.ParseFloat(os.Getenv("E2E_SCALE"), 64)
	if err != nil || f <= 0 {
		return n
	}
	return max(1, int(float64(n)*f))
}

// phase logs how long a step took when the returned function is called.
func phase(t *testing.T, name string) func() {
	t.Helper()
	start := time.Now()
	return func() {
		t.Helper()
		t.Logf("phase %-34s %8s", name, time.Since(start).Round(time.Millisecond))
	}
}

// stores are a fresh trace store and log store for one test.
type stores struct {
	jaeger *testbackend.Jaeger
	vlogs  *testbackend.VictoriaLogs
}

func startStores(t *testing.T) stores {
	t.Helper()
	defer phase(t, "start Jaeger and VictoriaLogs")()
	return stores{jaeger: testbackend.StartJaeger(t), vlogs: testbackend.StartVictoriaLogs(t)}
}

// collector is a running bin/otelcol-dynamo.
type collector struct {
	name            string
	grpc, http      string
	health, metrics string
	storage         string
	configPath      string
	env             []string
	binary          string
	proc            *testutil.Process
}

func configPath(t *testing.T, name string) string {
	return filepath.Join(testutil.RepoRoot(t), "configs", name)
}

// startCollector runs the binary on a shipped configuration with its
// listeners, storage and metrics on free loopback ports and a fresh folder,
// all set through the documented environment variables, and waits until its
// health check answers. A port picked as free can be taken by another process
// before the collector binds it; when the collector exits during start-up it
// is started again on other ports (three attempts).
func startCollector(t *testing.T, name, config string, env ...string) *collector {
	t.Helper()
	defer phase(t, "start "+name)()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		c, err := tryStartCollector(t, name, config, env)
		if err == nil {
			return c
		}
		lastErr = err
		t.Logf("start %s, attempt %d: %v", name, attempt, err)
	}
	t.Fatalf("start %s: %v", name, lastErr)
	return nil
}

func tryStartCollector(t *testing.T, name, config string, env []string) (*collector, error) {
	t.Helper()
	metricsPort := testutil.FreePort(t)
	c := &collector{
		name:       name,
		grpc:       testutil.FreeAddr(t),
		http:       testutil.FreeAddr(t),
		health:     testutil.FreeAddr(t),
		metrics:    "127.0.0.1:" + strconv.Itoa(metricsPort),
		storage:    filepath.Join(t.TempDir(), "storage"),
		configPath: configPath(t, config),
		binary:     testutil.CollectorBinary(t),
	}
	c.env = append([]string{
		"OTLP_GRPC_ENDPOINT=" + c.grpc,
		"OTLP_HTTP_ENDPOINT=" + c.http,
		"HEALTH_CHECK_ENDPOINT=" + c.health,
		"METRICS_HOST=127.0.0.1",
		"METRICS_PORT=" + strconv.Itoa(metricsPort),
		"STORAGE_DIR=" + c.storage,
	}, env...)
	c.proc = testutil.StartProcess(t, name, c.binary, []string{"--config", c.configPath}, c.env)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c.proc.Exited() {
			return nil, fmt.Errorf("exited during start-up:\n%s", c.proc.Output())
		}
		resp, err := http.Get("http://" + c.health + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("health: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			c.proc.Kill()
			return nil, fmt.Errorf("not healthy within 60s: %v\n%s", err, c.proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	testutil.WaitForTCP(t, c.grpc, 10*time.Second)
	return c, nil
}

// startGateway runs the shipped gateway configuration in front of s.
func startGateway(t *testing.T, name, config string, s stores, env ...string) *collector {
	t.Helper()
	return startCollector(t, name, config, append([]string{
		"TEMPO_ENDPOINT=" + s.jaeger.OTLPGRPC,
		"TEMPO_INSECURE=true",
		"LOKI_ENDPOINT=" + s.vlogs.OTLPLogsEndpoint(),
	}, env...)...)
}

// metric sums every sample of a counter the collector exposes on its
// Prometheus endpoint, with or without the _total suffix.
func (c *collector) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + c.metrics + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := strings.TrimPrefix(line[len(name):], "_total")
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		require.NoError(t, err, line)
		sum += v
	}
	require.NoError(t, sc.Err())
	return sum
}

// generate runs the generator in-process and requires that every export was
// accepted.
func generate(t *testing.T, cfg telemetrygen.Config) *telemetrygen.Manifest {
	t.Helper()
	defer phase(t, "generate")()
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = time.Minute
	}
	m, err := telemetrygen.Run(context.Background(), cfg)
	require.NoError(t, err)
	tot := m.Totals
	aliases := 0
	for i := range m.Requests {
		if m.Requests[i].XRequestIDKey != "" {
			aliases++
		}
	}
	t.Logf("sent %d requests (%d system, %d failed, %d with the id spelled otherwise on the root; by version %v, by topology %v) over %s to %s: %d spans, %d OTLP log records, %d JSONL lines in %d files",
		tot.Requests, tot.SystemRequests, tot.FailedRequests, aliases, tot.RequestsByVersion, tot.RequestsByTopology,
		m.Protocol, m.Endpoint, tot.Spans, tot.OTLPLogs, tot.JSONLLines, len(m.JSONLFiles))
	require.Zero(t, m.SendErrors, "every export was accepted: %v", m.Errors)
	return m
}

// shippedConfig reads one of configs/.
func shippedConfig(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(configPath(t, name))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(b, &doc))
	return doc
}

// hasComponent reports whether the configuration declares a component of
// type typ in section (receivers, processors, ...) and, for processors, uses
// it in every pipeline.
func hasComponent(doc map[string]any, section, typ string) bool {
	isType := func(id string) bool { return id == typ || strings.HasPrefix(id, typ+"/") }
	declared, _ := doc[section].(map[string]any)
	found := false
	for id := range declared {
		if isType(id) {
			found = true
		}
	}
	if !found || section != "processors" {
		return found
	}
	svc, _ := doc["service"].(map[string]any)
	pipelines, _ := svc["pipelines"].(map[string]any)
	for _, p := range pipelines {
		procs, _ := p.(map[string]any)["processors"].([]any)
		in := false
		for _, id := range procs {
			if s, ok := id.(string); ok && isType(s) {
				in = true
			}
		}
		if !in {
			return false
		}
	}
	return len(pipelines) > 0
}

// processorMissing is the reason to skip the assertions that only the dynamo
// processor makes true, or "" when the gateway configuration runs it in every
// pipeline.
func processorMissing(t *testing.T, config string) string {
	t.Helper()
	if hasComponent(shippedConfig(t, config), "processors", "dynamo") {
		return ""
	}
	return "MISSING COMPONENT: the dynamo processor (processor/dynamoprocessor, issue 4) is not in every pipeline of configs/" + config +
		"; x_request_id on every span and log record, and system endpoints renamed, cannot hold without it"
}
