package lokiexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/metadata"
)

// received is one request as the fake Loki saw it.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// fakeLoki is an HTTP server that records every request and answers with the
// next scripted response (then 204 once the script is used up). It stands in
// for Loki where a test must see the exact bytes on the wire.
type fakeLoki struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	// script maps a tenant ("" for none) to the answers it gets in turn.
	script map[string][]answer
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newFakeLoki(t *testing.T) *fakeLoki {
	f := &fakeLoki{script: map[string][]answer{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, received{at: time.Now(), header: r.Header.Clone(), body: body})
		tenant := r.Header.Get("X-Scope-OrgID")
		var a answer
		if next := f.script[tenant]; len(next) > 0 {
			a, f.script[tenant] = next[0], next[1:]
		} else {
			a = answer{status: http.StatusNoContent}
		}
		f.mu.Unlock()
		if r.URL.Path != "/loki/api/v1/push" || r.Method != http.MethodPost {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLoki) pushURL() string { return f.URL + "/loki/api/v1/push" }

func (f *fakeLoki) answers(tenant string, a ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[tenant] = append(f.script[tenant], a...)
}

func (f *fakeLoki) got() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.requests...)
}

// testConfig is the default configuration pointed at endpoint, with no
// queue (so ConsumeLogs returns the export's error) and fast retries.
func testConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 20 * time.Second
	return cfg
}

func startExporter(t *testing.T, cfg *Config) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, tel
}

// counter returns the value of a counter of the exporter's self-telemetry,
// for the data point with exactly attrs.
func counter(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is not an int64 sum", name)
	want := attribute.NewSet(attrs...)
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

var (
	traceID = pcommon.TraceID{0x80, 0x19, 0x6f, 0x3e, 0x3a, 0x6f, 0xdf, 0x06, 0xd2, 0x3b, 0xb9, 0xad, 0xa3, 0x78, 0x85, 0x18}
	spanID  = pcommon.SpanID{0xf7, 0xe4, 0x87, 0xa9, 0xd2, 0xa6, 0xbf, 0x38}
	t0      = time.Date(2026, 7, 30, 18, 4, 11, 482913000, time.UTC)
)

// dynamoLogs is a frontend and a prefill worker logging for one request, the
// frontend's records out of time order.
func dynamoLogs() plog.Logs {
	ld := plog.NewLogs()
	front := ld.ResourceLogs().AppendEmpty()
	front.Resource().Attributes().PutStr("service.name", "dynamo-frontend")
	front.Resource().Attributes().PutStr("dynamo.component", "frontend")
	fsl := front.ScopeLogs().AppendEmpty()

	done := fsl.LogRecords().AppendEmpty()
	done.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(20 * time.Millisecond)))
	done.SetSeverityNumber(plog.SeverityNumberInfo)
	done.SetSeverityText("INFO")
	done.Body().SetStr("request completed")
	done.Attributes().PutStr("x_request_id", "test-trace-001")
	done.SetTraceID(traceID)
	done.SetSpanID(spanID)

	recv := fsl.LogRecords().AppendEmpty()
	recv.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	recv.SetSeverityNumber(plog.SeverityNumberInfo)
	recv.Body().SetStr("request received")
	recv.Attributes().PutStr("x_request_id", "test-trace-001")
	recv.Attributes().PutStr("request_id", "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44")
	recv.SetTraceID(traceID)
	recv.SetSpanID(spanID)

	worker := ld.ResourceLogs().AppendEmpty()
	worker.Resource().Attributes().PutStr("service.name", "dynamo-worker-prefill")
	worker.Resource().Attributes().PutStr("dynamo.component", "worker")
	worker.Resource().Attributes().PutStr("dynamo.role", "prefill")
	wr := worker.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	wr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Millisecond)))
	wr.SetSeverityText("DEBUG")
	wr.Body().SetStr("Handling request")
	wr.Attributes().PutStr("x_request_id", "test-trace-001")
	wr.Attributes().PutStr("trace_id", "80196f3e3a6fdf06d23bb9ada3788518")
	return ld
}

func TestPushProtobufOnTheWire(t *testing.T) {
	loki := newFakeLoki(t)
	exp, tel := startExporter(t, testConfig(loki.pushURL()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))

	reqs := loki.got()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
	assert.Empty(t, r.header.Get("Content-Encoding"), "snappy is the payload encoding, not a content encoding")
	assert.Empty(t, r.header.Values("X-Scope-OrgID"), "no tenant configured, no header")

	// Snappy's block format, not the framed (stream) format, which starts
	// with the chunk 0xff 0x06 0x00 0x00 "sNaPpY".
	assert.False(t, bytes.HasPrefix(r.body, []byte("\xff\x06\x00\x00sNaPpY")))
	raw, err := snappy.Decode(nil, r.body)
	require.NoError(t, err)
	var req push.PushRequest
	require.NoError(t, req.Unmarshal(raw))

	require.Len(t, req.Streams, 2)
	front, worker := req.Streams[0], req.Streams[1]
	assert.Equal(t, `{dynamo_component="frontend", level="info", service_name="dynamo-frontend"}`, front.Labels)
	assert.Equal(t, `{dynamo_component="worker", dynamo_role="prefill", level="debug", service_name="dynamo-worker-prefill"}`, worker.Labels)

	// Sorted by timestamp although sent the other way round.
	require.Len(t, front.Entries, 2)
	assert.Equal(t, "request received", front.Entries[0].Line)
	assert.True(t, front.Entries[0].Timestamp.Equal(t0))
	assert.Equal(t, "request completed", front.Entries[1].Line)
	assert.True(t, front.Entries[1].Timestamp.Equal(t0.Add(20*time.Millisecond)))
	assert.Equal(t, push.LabelsAdapter{
		{Name: "trace_id", Value: "80196f3e3a6fdf06d23bb9ada3788518"},
		{Name: "span_id", Value: "f7e487a9d2a6bf38"},
		{Name: "x_request_id", Value: "test-trace-001"},
		{Name: "request_id", Value: "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44"},
	}, front.Entries[0].StructuredMetadata)
	assert.Equal(t, push.LabelsAdapter{
		{Name: "trace_id", Value: "80196f3e3a6fdf06d23bb9ada3788518"},
		{Name: "x_request_id", Value: "test-trace-001"},
	}, worker.Entries[0].StructuredMetadata)

	assert.Equal(t, int64(2), counter(t, tel, "otelcol_exporter_loki_streams_sent"))
	assert.Equal(t, int64(3), counter(t, tel, "otelcol_exporter_loki_entries_sent"))
}

func TestPushJSONOnTheWire(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	cfg.Encoding = EncodingJSON
	cfg.Line.Format = "json"
	cfg.Line.Attributes = []AttributeMapping{{Attribute: "x_request_id"}}
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))

	reqs := loki.got()
	require.Len(t, reqs, 1)
	assert.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
	var body struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]any           `json:"values"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(reqs[0].body, &body), "%s", reqs[0].body)
	require.Len(t, body.Streams, 2)
	assert.Equal(t, map[string]string{"service_name": "dynamo-frontend", "dynamo_component": "frontend", "level": "info"}, body.Streams[0].Stream)
	require.Len(t, body.Streams[0].Values, 2)
	first := body.Streams[0].Values[0]
	require.Len(t, first, 3)
	assert.Equal(t, "1785434651482913000", first[0], "timestamp in unix nanoseconds, as a string")
	assert.Equal(t, t0.UnixNano(), int64(1785434651482913000))
	assert.JSONEq(t, `{"body":"request received","x_request_id":"test-trace-001"}`, first[1].(string))
	assert.Equal(t, map[string]any{
		"trace_id":     "80196f3e3a6fdf06d23bb9ada3788518",
		"span_id":      "f7e487a9d2a6bf38",
		"x_request_id": "test-trace-001",
		"request_id":   "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44",
	}, first[2])
}

func TestStaticTenantAndHeaders(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	cfg.Tenant.ID = "team-a"
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "Authorization", Value: "Basic dXNlcjpwYXNz"}}
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))
	reqs := loki.got()
	require.Len(t, reqs, 1)
	assert.Equal(t, "team-a", reqs[0].header.Get("X-Scope-OrgID"))
	assert.Equal(t, "Basic dXNlcjpwYXNz", reqs[0].header.Get("Authorization"))
}

// tenantLogs has one resource per tenant value ("" for a resource without the
// attribute), with one record each.
func tenantLogs(tenants ...string) plog.Logs {
	ld := plog.NewLogs()
	for i, tenant := range tenants {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "svc")
		if tenant != "" {
			rl.Resource().Attributes().PutStr("k8s.namespace.name", tenant)
		}
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Millisecond)))
		lr.Body().SetStr("line of " + tenant)
	}
	return ld
}

// linesByTenant decodes every request and returns the lines per tenant.
func linesByTenant(t *testing.T, reqs []received) map[string][]string {
	out := map[string][]string{}
	for _, r := range reqs {
		raw, err := snappy.Decode(nil, r.body)
		require.NoError(t, err)
		var req push.PushRequest
		require.NoError(t, req.Unmarshal(raw))
		tenant := r.header.Get("X-Scope-OrgID")
		for _, s := range req.Streams {
			for _, e := range s.Entries {
				out[tenant] = append(out[tenant], e.Line)
			}
		}
	}
	return out
}

func TestTenantFromResourceAttribute(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	cfg.Tenant.FromResourceAttribute = "k8s.namespace.name"
	cfg.Tenant.ID = "default-team"
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), tenantLogs("team-a", "team-b", "", "team-a")))

	reqs := loki.got()
	require.Len(t, reqs, 3, "one request per tenant")
	assert.Equal(t, map[string][]string{
		"team-a":       {"line of team-a", "line of team-a"},
		"team-b":       {"line of team-b"},
		"default-team": {"line of "},
	}, linesByTenant(t, reqs))
}

func TestMissingTenantIsCountedAndReported(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	cfg.Tenant.FromResourceAttribute = "k8s.namespace.name"
	exp, tel := startExporter(t, cfg)
	err := exp.ConsumeLogs(context.Background(), tenantLogs("team-a", ""))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), `1 log records have no tenant: their resource lacks the attribute "k8s.namespace.name"`)
	assert.Equal(t, map[string][]string{"team-a": {"line of team-a"}}, linesByTenant(t, loki.got()))
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_records_failed", attribute.String("reason", "missing_tenant")))
}

func TestRetryOn5xx(t *testing.T) {
	loki := newFakeLoki(t)
	loki.answers("", answer{status: 503, body: "ingester unavailable"}, answer{status: 500, body: "internal"})
	exp, tel := startExporter(t, testConfig(loki.pushURL()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))
	reqs := loki.got()
	require.Len(t, reqs, 3)
	assert.Equal(t, reqs[0].body, reqs[2].body, "the retry sends the same streams")
	assert.Equal(t, int64(3), counter(t, tel, "otelcol_exporter_loki_entries_sent"))
	assert.Zero(t, counter(t, tel, "otelcol_exporter_loki_requests_rejected"))
}

func TestRetryOn429HonoursRetryAfter(t *testing.T) {
	loki := newFakeLoki(t)
	loki.answers("", answer{status: 429, header: map[string]string{"Retry-After": "1"}, body: "Ingestion rate limit exceeded"})
	exp, _ := startExporter(t, testConfig(loki.pushURL()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))
	reqs := loki.got()
	require.Len(t, reqs, 2)
	// The back-off is 10ms; only Retry-After makes the retry wait a second.
	assert.GreaterOrEqual(t, reqs[1].at.Sub(reqs[0].at), 900*time.Millisecond)
}

func TestRetryableErrorCarriesLokisAnswer(t *testing.T) {
	loki := newFakeLoki(t)
	loki.answers("", answer{status: 429, body: "Ingestion rate limit exceeded for user fake"})
	cfg := testConfig(loki.pushURL())
	cfg.RetryConfig.Enabled = false
	exp, _ := startExporter(t, cfg)
	err := exp.ConsumeLogs(context.Background(), dynamoLogs())
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "429 Too Many Requests: Ingestion rate limit exceeded for user fake")
}

func TestPermanentRejection(t *testing.T) {
	loki := newFakeLoki(t)
	msg := "entry for stream '{service_name=\"dynamo-frontend\"}' has timestamp too old: 2020-01-01T00:00:00Z"
	loki.answers("", answer{status: 400, body: msg})
	exp, tel := startExporter(t, testConfig(loki.pushURL()))
	err := exp.ConsumeLogs(context.Background(), dynamoLogs())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "400 Bad Request: "+msg)
	assert.Len(t, loki.got(), 1, "a permanent error is not retried")
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_requests_rejected"))
	assert.Equal(t, int64(3), counter(t, tel, "otelcol_exporter_loki_records_failed", attribute.String("reason", "rejected")))
	assert.Zero(t, counter(t, tel, "otelcol_exporter_loki_entries_sent"))
}

func TestOnlyFailedTenantIsRetried(t *testing.T) {
	loki := newFakeLoki(t)
	loki.answers("team-b", answer{status: 502, body: "bad gateway"})
	cfg := testConfig(loki.pushURL())
	cfg.Tenant.FromResourceAttribute = "k8s.namespace.name"
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), tenantLogs("team-a", "team-b")))
	reqs := loki.got()
	require.Len(t, reqs, 3)
	var tenants []string
	for _, r := range reqs {
		tenants = append(tenants, r.header.Get("X-Scope-OrgID"))
	}
	assert.Equal(t, []string{"team-a", "team-b", "team-b"}, tenants, "team-a, which succeeded, is not sent again")
}

func TestPermanentAndRetryableTenants(t *testing.T) {
	loki := newFakeLoki(t)
	loki.answers("team-a", answer{status: 401, body: "no org id"})
	loki.answers("team-b", answer{status: 503, body: "unavailable"})
	cfg := testConfig(loki.pushURL())
	cfg.Tenant.FromResourceAttribute = "k8s.namespace.name"
	exp, tel := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), tenantLogs("team-a", "team-b")))
	var tenants []string
	for _, r := range loki.got() {
		tenants = append(tenants, r.header.Get("X-Scope-OrgID"))
	}
	assert.Equal(t, []string{"team-a", "team-b", "team-b"}, tenants)
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_records_failed", attribute.String("reason", "rejected")))
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_entries_sent"))
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	loki := newFakeLoki(t)
	url := loki.pushURL()
	loki.Close()
	cfg := testConfig(url)
	cfg.RetryConfig.Enabled = false
	exp, _ := startExporter(t, cfg)
	err := exp.ConsumeLogs(context.Background(), dynamoLogs())
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "push to Loki at "+url)
}

func TestUnlabelledRecordsAreCounted(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	exp, tel := startExporter(t, cfg)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("who am I")
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	raw, err := snappy.Decode(nil, loki.got()[0].body)
	require.NoError(t, err)
	var req push.PushRequest
	require.NoError(t, req.Unmarshal(raw))
	require.Len(t, req.Streams, 1)
	assert.Equal(t, `{service_name="unknown_service"}`, req.Streams[0].Labels)
	assert.Equal(t, int64(1), counter(t, tel, "otelcol_exporter_loki_records_unlabelled"))
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	d, ok := retryAfter("7", now)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
	d, ok = retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now)
	assert.True(t, ok)
	assert.Equal(t, 90*time.Second, d)
	d, ok = retryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now)
	assert.True(t, ok)
	assert.Zero(t, d)
	_, ok = retryAfter("", now)
	assert.False(t, ok)
	_, ok = retryAfter("soon", now)
	assert.False(t, ok)
	_, ok = retryAfter("-3", now)
	assert.False(t, ok)
}

func TestReadMessageTruncates(t *testing.T) {
	long := bytes.Repeat([]byte("é"), maxErrorBody)
	msg := readMessage(bytes.NewReader(long))
	assert.LessOrEqual(t, len(msg), maxErrorBody+len(" …"))
	assert.Contains(t, msg, " …")
	assert.Equal(t, "(empty body)", readMessage(bytes.NewReader(nil)))
	assert.Equal(t, "bad", readMessage(bytes.NewReader([]byte("  bad\n"))))
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := testConfig(srv.URL + "/loki/api/v1/push")
	cfg.ClientConfig.Timeout = 100 * time.Millisecond
	cfg.RetryConfig.Enabled = false
	exp, _ := startExporter(t, cfg)
	err := exp.ConsumeLogs(context.Background(), dynamoLogs())
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestJSONWithGzip(t *testing.T) {
	loki := newFakeLoki(t)
	cfg := testConfig(loki.pushURL())
	cfg.Encoding = EncodingJSON
	cfg.ClientConfig.Compression = configcompression.TypeGzip
	exp, _ := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeLogs(context.Background(), dynamoLogs()))
	reqs := loki.got()
	require.Len(t, reqs, 1)
	assert.Equal(t, "gzip", reqs[0].header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(reqs[0].body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.True(t, json.Valid(plain))
	assert.Contains(t, string(plain), `"x_request_id":"test-trace-001"`)
}
