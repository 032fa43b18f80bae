package deploy

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// otlpMetricsSink stands in for Prometheus' OTLP receiver: the test must see
// the metric names, units and attributes exactly as the collector sends them,
// since Prometheus derives its series names from them.
type otlpMetricsSink struct {
	mu     sync.Mutex
	points []spanMetricPoint
}

type spanMetricPoint struct {
	Metric, Unit string
	Attrs        map[string]string
}

func (s *otlpMetricsSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/otlp/v1/metrics" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	rms := req.Metrics().ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				add := func(attrs map[string]any) {
					p := spanMetricPoint{Metric: m.Name(), Unit: m.Unit(), Attrs: map[string]string{}}
					for key, v := range attrs {
						p.Attrs[key] = fmt.Sprint(v)
					}
					s.points = append(s.points, p)
				}
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for d := 0; d < m.Sum().DataPoints().Len(); d++ {
						add(m.Sum().DataPoints().At(d).Attributes().AsRaw())
					}
				case pmetric.MetricTypeHistogram:
					for d := 0; d < m.Histogram().DataPoints().Len(); d++ {
						add(m.Histogram().DataPoints().At(d).Attributes().AsRaw())
					}
				}
			}
		}
	}
	s.mu.Unlock()
	out, _ := pmetricotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (s *otlpMetricsSink) find(metric, spanName string) (spanMetricPoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.points {
		if p.Metric == metric && p.Attrs["span.name"] == spanName {
			return p, true
		}
	}
	return spanMetricPoint{}, false
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// TestComposeCollectorRuns runs the collector of the Compose stack (gateway
// configuration plus overlay, as the Compose file starts it) against Jaeger
// in Tempo's place, VictoriaLogs in Loki's and a Prometheus OTLP stand-in:
// an OTLP span reaches the trace store and becomes span metrics with Dynamo's
// component, and a JSONL line in the mounted log folder reaches the log store
// under its component's service name.
func TestComposeCollectorRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the collector and two stores")
	}
	p := composeProject(t)
	files := composeCollectorConfigs(t, p)

	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	sink := &otlpMetricsSink{}
	prom := httptest.NewServer(sink)
	t.Cleanup(prom.Close)

	jsonlDir := t.TempDir()
	otlpHTTP := testutil.FreeAddr(t)
	health := testutil.FreeAddr(t)
	env := []string{
		"STORAGE_DIR=" + t.TempDir(),
		"JSONL_DIR=" + jsonlDir,
		"SPAN_METRICS_FLUSH_INTERVAL=500ms",
		"OTLP_GRPC_ENDPOINT=" + testutil.FreeAddr(t),
		"OTLP_HTTP_ENDPOINT=" + otlpHTTP,
		"HEALTH_CHECK_ENDPOINT=" + health,
		"METRICS_HOST=127.0.0.1",
		"METRICS_PORT=" + strconv.Itoa(testutil.FreePort(t)),
		"TEMPO_ENDPOINT=" + jaeger.OTLPGRPC,
		"LOKI_ENDPOINT=" + vlogs.OTLPLogsEndpoint(),
		"PROMETHEUS_OTLP_ENDPOINT=" + prom.URL + "/api/v1/otlp",
	}
	var args []string
	for _, f := range files {
		args = append(args, "--config", f)
	}
	col := testutil.StartProcess(t, "otelcol-dynamo", testutil.CollectorBinary(t), args, env)
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if col.Exited() {
			return fmt.Errorf("collector exited:\n%s", col.Output())
		}
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})

	traceID, spanID, requestID := randomHex(t, 16), randomHex(t, 8), "compose-"+randomHex(t, 4)

	// A Dynamo frontend's JSONL line, in the file the launch notes write.
	line := fmt.Sprintf(`{"time":"%s","level":"INFO","file":"lib/llm/src/http/service/metrics.rs","line":1042,"target":"dynamo_llm::http::service::metrics","message":"request received","endpoint":"chat_completions","span_id":"%s","span_name":"http-request","trace_id":"%s","x_request_id":"%s"}`+"\n",
		time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), spanID, traceID, requestID)
	require.NoError(t, os.WriteFile(filepath.Join(jsonlDir, "frontend.log"), []byte(line), 0o644))

	// The frontend's root span over OTLP/HTTP.
	now := time.Now()
	// Its resource holds only service.name, as Dynamo sends it: the gateway's
	// dynamo processor derives dynamo.component, which the span metrics and
	// the dashboard group by.
	span := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[
		{"key":"service.name","value":{"stringValue":"dynamo-frontend"}}]},
	  "scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s","name":"http-request","kind":2,
		"startTimeUnixNano":"%d","endTimeUnixNano":"%d",
		"attributes":[{"key":"x_request_id","value":{"stringValue":"%s"}}]}]}]}]}`,
		traceID, spanID, now.Add(-20*time.Millisecond).UnixNano(), now.UnixNano(), requestID)
	resp, err := http.Post("http://"+otlpHTTP+"/v1/traces", "application/json", bytes.NewReader([]byte(span)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The trace in the trace store.
	testutil.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
		var out struct {
			Data []struct {
				Spans []struct {
					OperationName string `json:"operationName"`
				} `json:"spans"`
			} `json:"data"`
		}
		if err := jaeger.GetJSON("/api/traces/"+traceID, &out); err != nil {
			return err
		}
		if len(out.Data) != 1 || len(out.Data[0].Spans) != 1 || out.Data[0].Spans[0].OperationName != "http-request" {
			return fmt.Errorf("trace %s: %+v", traceID, out)
		}
		return nil
	})

	// Span metrics with the component, under the names the dashboard expects.
	var calls, duration spanMetricPoint
	testutil.Eventually(t, 30*time.Second, 250*time.Millisecond, func() error {
		var ok1, ok2 bool
		calls, ok1 = sink.find("traces.span.metrics.calls", "http-request")
		duration, ok2 = sink.find("traces.span.metrics.duration", "http-request")
		if !ok1 || !ok2 {
			return fmt.Errorf("no span metrics for http-request yet")
		}
		return nil
	})
	assert.Equal(t, "frontend", calls.Attrs["dynamo.component"])
	assert.Equal(t, "dynamo-frontend", calls.Attrs["service.name"])
	assert.Equal(t, "ms", duration.Unit)

	// The JSONL line in the log store, as the frontend.
	got := vlogs.WaitForCount(t, "x_request_id:="+requestID, 1, 30*time.Second)
	assert.Equal(t, "dynamo-frontend", got[0]["service.name"])
	assert.Equal(t, "request received", got[0]["_msg"])
	// What Loki keeps as structured metadata trace_id (the log -> trace link)
	// and indexes as dynamo_component.
	assert.Equal(t, traceID, got[0]["trace_id"])
	assert.Equal(t, "frontend", got[0]["dynamo.component"])
}
