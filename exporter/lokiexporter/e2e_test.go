package lokiexporter

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// These tests run the distribution's binary on the shipped
// configs/otelcol-dynamo-loki-push.yaml, with OTLP in and VictoriaLogs' Loki
// push endpoint out.

type gateway struct {
	proc     *testutil.Process
	otlpHTTP string
}

// startGateway runs the binary on the push-API gateway configuration with
// free loopback ports, the given push URL and storage folder.
func startGateway(t *testing.T, pushURL, storageDir string) *gateway {
	t.Helper()
	bin := testutil.CollectorBinary(t)
	cfg := filepath.Join(testutil.RepoRoot(t), "configs", "otelcol-dynamo-loki-push.yaml")
	g := &gateway{otlpHTTP: testutil.FreeAddr(t)}
	g.proc = testutil.StartProcess(t, "otelcol-dynamo", bin, []string{"--config", cfg}, []string{
		"OTLP_GRPC_ENDPOINT=" + testutil.FreeAddr(t),
		"OTLP_HTTP_ENDPOINT=" + g.otlpHTTP,
		"HEALTH_CHECK_ENDPOINT=" + testutil.FreeAddr(t),
		"METRICS_HOST=127.0.0.1",
		fmt.Sprintf("METRICS_PORT=%d", testutil.FreePort(t)),
		"STORAGE_DIR=" + storageDir,
		"TEMPO_ENDPOINT=" + testutil.FreeAddr(t),
		"LOKI_PUSH_ENDPOINT=" + pushURL,
	})
	testutil.Eventually(t, 60*time.Second, 50*time.Millisecond, func() error {
		if g.proc.Exited() {
			t.Fatalf("collector exited:\n%s", g.proc.Output())
		}
		c, err := net.DialTimeout("tcp", g.otlpHTTP, 200*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
	return g
}

// sendOTLP posts ld to the gateway's OTLP/HTTP receiver.
func (g *gateway) sendOTLP(t *testing.T, ld plog.Logs) {
	t.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+g.otlpHTTP+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// requestLogs is n records of one frontend request, timestamps one
// millisecond apart, with the request id as an attribute.
func requestLogs(id string, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-frontend")
	rl.Resource().Attributes().PutStr("dynamo.component", "frontend")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	base := time.Now().Add(-time.Minute)
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Millisecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(fmt.Sprintf("line %d", i))
		lr.Attributes().PutStr("x_request_id", id)
		lr.SetTraceID(traceID)
	}
	return ld
}

func TestGatewayConfigPushesToLoki(t *testing.T) {
	vl := testbackend.StartVictoriaLogs(t)
	g := startGateway(t, vl.LokiPushURL(), t.TempDir())
	id := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	g.sendOTLP(t, requestLogs(id, 5))

	got := vl.WaitForCount(t, `x_request_id:="`+id+`" | sort by (_time)`, 5, 60*time.Second)
	for i, e := range got {
		assert.Equal(t, fmt.Sprintf("line %d", i), e["_msg"])
		assert.Equal(t, `{dynamo_component="frontend",level="info",service_name="dynamo-frontend"}`, e["_stream"])
		assert.Equal(t, traceID.String(), e["trace_id"])
	}
}

func TestGatewayQueueSurvivesKill(t *testing.T) {
	vl := testbackend.StartVictoriaLogs(t)
	storage := t.TempDir()
	id := fmt.Sprintf("e2e-restart-%d", time.Now().UnixNano())

	// Loki is down: the batch is queued on disk and retried.
	down := "http://" + testutil.FreeAddr(t) + "/insert/loki/api/v1/push"
	g := startGateway(t, down, storage)
	g.sendOTLP(t, requestLogs(id, 7))
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if out := g.proc.Output(); !strings.Contains(out, "Exporting failed. Will retry") || !strings.Contains(out, down) {
			return fmt.Errorf("no failed push to %s yet", down)
		}
		return nil
	})
	g.proc.Kill()

	// Restarted on the same storage with Loki up: the queued batch is sent.
	startGateway(t, vl.LokiPushURL(), storage)
	got := vl.WaitForCount(t, `x_request_id:="`+id+`"`, 7, 60*time.Second)
	assert.Len(t, got, 7)
}

// TestPushGatewayConfigFollowsGateway keeps configs/otelcol-dynamo-loki-push.yaml
// the same gateway as configs/otelcol-dynamo.yaml but for the logs exporter:
// same receivers, processors (definitions and order in both pipelines) and
// extensions. When this fails, carry the change made to
// configs/otelcol-dynamo.yaml over to configs/otelcol-dynamo-loki-push.yaml.
func TestPushGatewayConfigFollowsGateway(t *testing.T) {
	load := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "configs", name))
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(b, &doc))
		return doc
	}
	gw, push := load("otelcol-dynamo.yaml"), load("otelcol-dynamo-loki-push.yaml")
	for _, key := range []string{"receivers", "processors", "extensions"} {
		assert.Equal(t, gw[key], push[key], "top-level %s differ", key)
	}
	pipelines := func(doc map[string]any) map[string]any {
		return doc["service"].(map[string]any)["pipelines"].(map[string]any)
	}
	gwP, pushP := pipelines(gw), pipelines(push)
	require.Equal(t, len(gwP), len(pushP), "pipelines differ")
	for name, p := range gwP {
		require.Contains(t, pushP, name)
		want, got := p.(map[string]any), pushP[name].(map[string]any)
		assert.Equal(t, want["receivers"], got["receivers"], "%s receivers", name)
		assert.Equal(t, want["processors"], got["processors"], "%s processors", name)
		if strings.HasPrefix(name, "logs") {
			assert.Equal(t, []any{"loki"}, got["exporters"], "%s exporters", name)
		} else {
			assert.Equal(t, want["exporters"], got["exporters"], "%s exporters", name)
		}
	}
	assert.Equal(t, gw["service"].(map[string]any)["extensions"], push["service"].(map[string]any)["extensions"])
}
