package dynamoprocessor_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
)

const collectorConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[1]s
extensions:
  file_storage/queue:
    directory: %[2]s/storage
    create_directory: true
processors:
  dynamo:
    propagation:
      wait: 1m
      storage: file_storage/queue
exporters:
  file/traces:
    path: %[2]s/traces.jsonl
    flush_interval: 10ms
  file/logs:
    path: %[2]s/logs.jsonl
    flush_interval: 10ms
service:
  extensions: [file_storage/queue]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [dynamo]
      exporters: [file/traces]
    logs:
      receivers: [otlp]
      processors: [dynamo]
      exporters: [file/logs]
`

func factories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	f.Telemetry = otelconftelemetry.NewFactory()
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](dynamoprocessor.NewFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](filestorage.NewFactory()); err != nil {
		return f, err
	}
	f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
	return f, err
}

func startCollector(t *testing.T, addr, dir string) (stop func()) {
	t.Helper()
	cfgPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(collectorConfig, addr, dir)), 0o600))
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:              []string{"file:" + cfgPath},
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
			},
		},
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	testutil.Eventually(t, 30*time.Second, 10*time.Millisecond, func() error {
		select {
		case err := <-done:
			t.Fatalf("collector ended: %v", err)
		default:
		}
		if s := col.GetState(); s != otelcol.StateRunning {
			return fmt.Errorf("collector state %v", s)
		}
		return nil
	})
	testutil.WaitForTCP(t, addr, 10*time.Second)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		col.Shutdown()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("collector did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func tid(n byte) pcommon.TraceID {
	return pcommon.TraceID{0xb6, 0x72, 0xcc, 0xf4, 0x86, 0x83, 0xb3, 0x92, 0x89, 0x1c, 0x5c, 0xb4, 0x16, 0x3d, 0x4b, n}
}

func sendSpan(t *testing.T, addr string, trace byte, service, name string, root bool, attrs map[string]any) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(name)
	span.SetTraceID(tid(trace))
	span.SetSpanID(pcommon.SpanID{trace, 2})
	if root {
		span.SetSpanID(pcommon.SpanID{trace, 1})
	} else {
		span.SetParentSpanID(pcommon.SpanID{trace, 1})
	}
	require.NoError(t, span.Attributes().FromRaw(attrs))
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/traces", body)
}

func sendLog(t *testing.T, addr string, trace byte, msg string) {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-worker-decode")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(msg)
	lr.SetTraceID(tid(trace))
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	post(t, "http://"+addr+"/v1/logs", body)
}

// readItems returns every span or log record in an exporter's file, as
// trace id → x_request_id ("" when absent), with names or bodies.
type item struct {
	trace string
	xrid  string
	text  string
	attrs map[string]any
	res   map[string]any
}

func readFile(t *testing.T, path string, logs bool) []item {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	// The exporter may be writing a line: read the complete ones.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []item
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if logs {
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(line))
			require.NoError(t, err)
			for i := 0; i < ld.ResourceLogs().Len(); i++ {
				rl := ld.ResourceLogs().At(i)
				for j := 0; j < rl.ScopeLogs().Len(); j++ {
					lrs := rl.ScopeLogs().At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						lr := lrs.At(k)
						it := item{trace: lr.TraceID().String(), text: lr.Body().AsString(), attrs: lr.Attributes().AsRaw(), res: rl.Resource().Attributes().AsRaw()}
						it.xrid, _ = it.attrs["x_request_id"].(string)
						out = append(out, it)
					}
				}
			}
			continue
		}
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(line))
		require.NoError(t, err)
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					it := item{trace: s.TraceID().String(), text: s.Name(), attrs: s.Attributes().AsRaw(), res: rs.Resource().Attributes().AsRaw()}
					it.xrid, _ = it.attrs["x_request_id"].(string)
					out = append(out, it)
				}
			}
		}
	}
	return out
}

func waitItems(t *testing.T, path string, logs bool, want int) []item {
	t.Helper()
	var items []item
	testutil.Eventually(t, 20*time.Second, 10*time.Millisecond, func() error {
		items = readFile(t, path, logs)
		if len(items) != want {
			return fmt.Errorf("%s: %d items, want %d", filepath.Base(path), len(items), want)
		}
		return nil
	})
	return items
}

// TestCollectorSharesKnowledgeBetweenPipelines runs one collector with the
// dynamo processor in a traces and a logs pipeline. OTLP log records and a
// worker span arrive first, without x_request_id; the frontend's root span,
// carrying the id in the semantic-convention header form, arrives last. Both
// pipelines then hand on their held items annotated. Items of a trace whose
// root never comes are released when the collector shuts down.
func TestCollectorSharesKnowledgeBetweenPipelines(t *testing.T) {
	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	stop := startCollector(t, addr, dir)
	tracesPath, logsPath := filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "logs.jsonl")

	sendLog(t, addr, 1, "request received")
	sendLog(t, addr, 1, "Handling request")
	sendSpan(t, addr, 1, "dynamo-worker-decode", "Handle-Payload", false, map[string]any{
		"component": "decode", "instance_id": "2221573453717914121", "x_dynamo_request_id": "8372eac7-5f43-4d76-beca-0a94cfb311d0",
	})
	sendLog(t, addr, 2, "orphan record: its trace's root never arrives")
	assert.Empty(t, readFile(t, tracesPath, false), "the worker span waits for its root")
	assert.Empty(t, readFile(t, logsPath, true), "the log records wait for their trace's id")

	sendSpan(t, addr, 1, "dynamo-frontend", "HTTP_Request", true, map[string]any{
		"method": "POST", "uri": "/v1/chat/completions?stream=true", "version": "HTTP/1.1",
		"http.request.header.x-request-id": []any{"test-trace-001"}, "request_id": "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44",
		"request.outcome": "error",
	})

	spans := waitItems(t, tracesPath, false, 2)
	for _, s := range spans {
		assert.Equal(t, "test-trace-001", s.xrid, s.text)
		assert.NotContains(t, s.attrs, "http.request.header.x-request-id")
	}
	names := []string{spans[0].text, spans[1].text}
	assert.ElementsMatch(t, []string{"http-request", "handle_payload"}, names)
	for _, s := range spans {
		if s.text == "handle_payload" {
			assert.Equal(t, "8372eac7-5f43-4d76-beca-0a94cfb311d0", s.attrs["request_id"])
			assert.Equal(t, float64(2221573453717914121), toFloat(s.attrs["instance_id"]))
			assert.Equal(t, "worker", s.res["dynamo.component"])
			assert.Equal(t, "decode", s.res["dynamo.role"])
		} else {
			assert.Equal(t, "/v1/chat/completions", s.attrs["url.path"])
			assert.Equal(t, "frontend", s.res["dynamo.component"])
		}
	}

	records := waitItems(t, logsPath, true, 2)
	for _, r := range records {
		assert.Equal(t, tid(1).String(), r.trace)
		assert.Equal(t, "test-trace-001", r.xrid, r.text)
	}

	// The orphan record is still held; shutting down hands it on unchanged
	// and leaves nothing in storage.
	stop()
	records = readFile(t, logsPath, true)
	require.Len(t, records, 3)
	assert.Equal(t, tid(2).String(), records[2].trace)
	assert.Empty(t, records[2].xrid)
	assert.Empty(t, storedEntries(t, filepath.Join(dir, "storage"), nil))
}

// withStorageClient runs fn with a client of the dynamo processor's entries
// in a file_storage folder, the way the collector opens it.
func withStorageClient(t *testing.T, dir string, fn func(storage.Client)) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	set := extension.Settings{ID: component.MustNewIDWithName("file_storage", "queue"),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	client, err := ext.(storage.Extension).GetClient(context.Background(), component.KindProcessor, component.MustNewID("dynamo"), "")
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	fn(client)
}

// storedEntries returns the keys of the dynamo processor's entries, after
// writing seed (key → value) as a crashed run would have left them.
func storedEntries(t *testing.T, dir string, seed map[string][]byte) []string {
	t.Helper()
	var keys []string
	withStorageClient(t, dir, func(c storage.Client) {
		for k, v := range seed {
			require.NoError(t, c.Set(context.Background(), k, v))
		}
		require.NoError(t, c.(storage.Walker).Walk(context.Background(), func(k string, _ []byte) ([]*storage.Operation, error) {
			keys = append(keys, k)
			return nil, nil
		}))
	})
	return keys
}

// TestCollectorDeliversWhatACrashLeftHeld starts a collector on a storage
// folder in which a killed run left held log records (entries as the
// processor writes them: logs/<trace id>/<hold start>/<id>, OTLP protobuf).
// The collector holds them again; the trace's root span, retried by the
// client, arrives and they go out annotated; nothing is left in storage.
func TestCollectorDeliversWhatACrashLeftHeld(t *testing.T) {
	addr := testutil.FreeAddr(t)
	dir := t.TempDir()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-worker-decode")
	for _, m := range []string{"request received", "Handling request"} {
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(m)
		lr.SetTraceID(tid(3))
	}
	value, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	key := fmt.Sprintf("logs/%s/%016x/0-1", tid(3), time.Now().Add(-time.Second).UnixNano())
	require.Equal(t, []string{key}, storedEntries(t, filepath.Join(dir, "storage"), map[string][]byte{key: value}))

	stop := startCollector(t, addr, dir)
	logsPath := filepath.Join(dir, "logs.jsonl")
	assert.Empty(t, readFile(t, logsPath, true), "held again, waiting for the root")
	sendSpan(t, addr, 3, "dynamo-frontend", "http-request", true, map[string]any{"x_request_id": "after-the-crash"})
	records := waitItems(t, logsPath, true, 2)
	for _, r := range records {
		assert.Equal(t, "after-the-crash", r.xrid, r.text)
		assert.Equal(t, "dynamo-worker-decode", r.res["service.name"], "the resource was kept")
	}
	stop()
	assert.Empty(t, storedEntries(t, filepath.Join(dir, "storage"), nil))
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return -1
}
