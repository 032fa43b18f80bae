package dynamoprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
)

// Shapes of dynamo-telemetry.md §2: one request through a frontend (new
// version), a router and a prefill worker (mid version).
const (
	xrid    = "test-trace-001"
	uuidNew = "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44"
	uuidMid = "8372eac7-5f43-4d76-beca-0a94cfb311d0"
	ctxID   = "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"
)

func traceID(n byte) pcommon.TraceID {
	return pcommon.TraceID{0x80, 0x19, 0x6f, 0x3e, 0x3a, 0x6f, 0xdf, 0x06, 0xd2, 0x3b, 0xb9, 0xad, 0xa3, 0x78, 0x85, n}
}

func spanID(n byte) pcommon.SpanID {
	return pcommon.SpanID{0xf7, 0xe4, 0x87, 0xa9, 0xd2, 0xa6, 0xbf, n}
}

type spanSpec struct {
	service string
	name    string
	trace   byte
	id      byte
	parent  byte // 0: root
	attrs   map[string]any
}

func traces(t testing.TB, specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(s.name)
		if s.trace != 0 {
			span.SetTraceID(traceID(s.trace))
		}
		span.SetSpanID(spanID(s.id))
		if s.parent != 0 {
			span.SetParentSpanID(spanID(s.parent))
		}
		require.NoError(t, span.Attributes().FromRaw(s.attrs))
	}
	return td
}

// OTLP log records carry the event's fields and the trace context only: no
// x_request_id (§3).
func logs(t testing.TB, trace byte, messages ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo-worker-vllm-prefill")
	for i, m := range messages {
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(m)
		if trace != 0 {
			lr.SetTraceID(traceID(trace))
			lr.SetSpanID(spanID(byte(10 + i)))
		}
	}
	return ld
}

func frontendRoot(trace byte) spanSpec {
	return spanSpec{service: "dynamo-frontend", name: "http-request", trace: trace, id: 1, attrs: map[string]any{
		"method": "POST", "uri": "/v1/chat/completions", "version": "HTTP/1.1",
		"x_request_id": xrid, "request_id": uuidNew, "input_tokens": "9", "output_tokens": "50", "ttft_ms": "5.85",
		"request.outcome": "success",
	}}
}

func workerSpan(trace byte, id byte) spanSpec {
	return spanSpec{service: "dynamo-worker-vllm-prefill", name: "handle_payload", trace: trace, id: id, parent: 1, attrs: map[string]any{
		"component": "prefill", "endpoint": "generate", "namespace": "vllm-disagg",
		"instance_id": "3866790875219207267", "x_dynamo_request_id": uuidMid,
	}}
}

type harness struct {
	tp  processor.Traces
	lp  processor.Logs
	ts  *consumertest.TracesSink
	ls  *consumertest.LogsSink
	tel *componenttest.Telemetry
}

func newHarness(t *testing.T, mutate func(*Config), nextT consumer.Traces, nextL consumer.Logs) *harness {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	h := &harness{ts: &consumertest.TracesSink{}, ls: &consumertest.LogsSink{}, tel: componenttest.NewTelemetry()}
	if nextT == nil {
		nextT = h.ts
	}
	if nextL == nil {
		nextL = h.ls
	}
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, t.Name())
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	var err error
	h.tp, err = NewFactory().CreateTraces(context.Background(), set, cfg, nextT)
	require.NoError(t, err)
	h.lp, err = NewFactory().CreateLogs(context.Background(), set, cfg, nextL)
	require.NoError(t, err)
	require.NoError(t, h.tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, h.lp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		assert.NoError(t, h.tp.Shutdown(context.Background()))
		assert.NoError(t, h.lp.Shutdown(context.Background()))
		assert.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h
}

func (h *harness) metric(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	want := attribute.NewSet(attrs...)
	var total int64
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is not an int sum", name)
	for _, dp := range sum.DataPoints {
		match := true
		for _, kv := range want.ToSlice() {
			if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
				match = false
			}
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

func allSpans(sink *consumertest.TracesSink) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					out = append(out, sss.At(j).Spans().At(k))
				}
			}
		}
	}
	return out
}

func allRecords(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					out = append(out, sls.At(j).LogRecords().At(k))
				}
			}
		}
	}
	return out
}

func attr(m pcommon.Map, k string) any {
	v, ok := m.Get(k)
	if !ok {
		return nil
	}
	return v.AsRaw()
}

func waitCount(t *testing.T, what string, want int, count func() int) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, 2*time.Millisecond, func() error {
		if got := count(); got != want {
			return fmt.Errorf("%s: %d, want %d", what, got, want)
		}
		return nil
	})
}

func TestMixedVersionTraceInOneBatch(t *testing.T) {
	h := newHarness(t, nil, nil, nil)
	td := traces(t,
		workerSpan(1, 2),
		spanSpec{service: "dynamo-frontend", name: "Client-Request", trace: 1, id: 3, parent: 1, attrs: map[string]any{
			"operation": "generate", "request_id": ctxID, "x_dynamo_request_id": uuidMid,
		}},
		spanSpec{service: "dynamo-frontend", name: "KV_Router.Route_Request", trace: 1, id: 4, parent: 1, attrs: map[string]any{
			"worker_id": "7", "dp_rank": "0", "phase": "Prefill", "otel.status_code": "error",
		}},
		frontendRoot(1),
	)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), td))

	// The root was in the batch: nothing waits.
	spans := allSpans(h.ts)
	require.Len(t, spans, 4)
	byName := map[string]ptrace.Span{}
	for _, s := range spans {
		assert.Equal(t, xrid, attr(s.Attributes(), "x_request_id"), s.Name())
		byName[s.Name()] = s
	}
	worker := byName["handle_payload"]
	assert.Equal(t, uuidMid, attr(worker.Attributes(), "request_id"))
	assert.Nil(t, attr(worker.Attributes(), "x_dynamo_request_id"))
	assert.Equal(t, int64(3866790875219207267), attr(worker.Attributes(), "instance_id"))

	client := byName["client_request"]
	assert.Equal(t, uuidMid, attr(client.Attributes(), "request_id"))
	assert.Equal(t, ctxID, attr(client.Attributes(), "dynamo.context_id"))

	route := byName["kv_router.route_request"]
	assert.Equal(t, ptrace.StatusCodeError, route.Status().Code())
	assert.Equal(t, int64(7), attr(route.Attributes(), "worker_id"))

	root := byName["http-request"]
	assert.Equal(t, ptrace.SpanKindServer, root.Kind())
	assert.Equal(t, "/v1/chat/completions", attr(root.Attributes(), "url.path"))
	assert.Equal(t, ptrace.StatusCodeUnset, root.Status().Code())

	res := h.ts.AllTraces()[0].ResourceSpans().At(0).Resource()
	assert.Equal(t, "worker", attr(res.Attributes(), "dynamo.component"))
	assert.Equal(t, "prefill", attr(res.Attributes(), "dynamo.role"))

	assert.Equal(t, int64(3), h.metric(t, "otelcol_processor_dynamo_request_ids_propagated"))
	assert.Equal(t, int64(4), h.metric(t, "otelcol_processor_dynamo_items_changed", attribute.String("signal", "traces")))
	assert.Zero(t, h.metric(t, "otelcol_processor_dynamo_items_held"))
}

func TestRootArrivesLastInALaterBatch(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2), workerSpan(1, 3))))
	assert.Zero(t, h.ts.SpanCount(), "children wait for the root")
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_held_items"))

	// Another trace whose id is known passes at once.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(2), workerSpan(2, 2))))
	assert.Equal(t, 2, h.ts.SpanCount())

	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	// The root's batch hands the children on itself, before it returns.
	assert.Equal(t, 5, h.ts.SpanCount(), "children released by the root's batch")
	for _, s := range allSpans(h.ts) {
		assert.Equal(t, xrid, attr(s.Attributes(), "x_request_id"))
	}
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "request_id")))
	waitCount(t, "held gauge", 0, func() int { return int(h.metric(t, "otelcol_processor_dynamo_held_items")) })
}

func TestLogsBeforeTheirSpans(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 1, "request received", "Handling request")))
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 0, "VllmWorker has been initialized")))
	assert.Equal(t, 1, h.ls.LogRecordCount(), "only the record without a trace id passes")

	// The root span in the traces pipeline teaches the logs pipeline; the
	// root's batch hands the records on to it before it returns.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1))))
	assert.Equal(t, 3, h.ls.LogRecordCount(), "records released by the root's batch")
	n := 0
	for _, lr := range allRecords(h.ls) {
		if !lr.TraceID().IsEmpty() {
			assert.Equal(t, xrid, attr(lr.Attributes(), "x_request_id"))
			n++
		}
	}
	assert.Equal(t, 2, n)
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_request_ids_propagated", attribute.String("signal", "logs")))

	// Later records of the same trace are annotated without waiting.
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 1, "request completed")))
	recs := allRecords(h.ls)
	require.Len(t, recs, 4)
	assert.Equal(t, xrid, attr(recs[3].Attributes(), "x_request_id"))
}

func TestSpansLearnFromJSONLLogLines(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2))))
	assert.Zero(t, h.ts.SpanCount())

	// A JSONL line as a receiver that keeps its keys as attributes hands it on.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"span_name": "handle_payload", "trace_id": traceID(1).String(), "span_id": "9e2f4c7a1b3d5e60",
		"x_request_id": xrid, "request_id": uuidNew,
	}))
	require.NoError(t, h.lp.ConsumeLogs(ctx, ld))
	require.Equal(t, 1, h.ls.LogRecordCount())
	assert.Equal(t, traceID(1), allRecords(h.ls)[0].TraceID())

	waitCount(t, "spans delivered", 1, h.ts.SpanCount)
	assert.Equal(t, xrid, attr(allSpans(h.ts)[0].Attributes(), "x_request_id"))
}

func TestRootWithoutRequestIDReleasesAtOnce(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	child := workerSpan(1, 2)
	delete(child.attrs, "x_dynamo_request_id")
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, child)))
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 1, "a")))
	assert.Zero(t, h.ts.SpanCount())

	root := frontendRoot(1)
	delete(root.attrs, "x_request_id")
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, root)))
	waitCount(t, "spans delivered", 2, h.ts.SpanCount)
	waitCount(t, "log records delivered", 1, h.ls.LogRecordCount)
	for _, s := range allSpans(h.ts) {
		assert.Nil(t, attr(s.Attributes(), "x_request_id"))
	}
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "no_request_id")))

	// The trace is known to have no id: later items pass in the same call.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, child)))
	assert.Equal(t, 3, h.ts.SpanCount())
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 1, "b")))
	assert.Equal(t, 2, h.ls.LogRecordCount())
}

func TestItemsWithoutTraceIDAreNeverHeld(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	s := workerSpan(0, 2)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, s)))
	assert.Equal(t, 1, h.ts.SpanCount())
	assert.Zero(t, h.metric(t, "otelcol_processor_dynamo_items_held"))
}

func TestTimeoutReleasesUnchanged(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = 30 * time.Millisecond }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2))))
	require.NoError(t, h.lp.ConsumeLogs(ctx, logs(t, 1, "a", "b")))
	waitCount(t, "spans delivered", 1, h.ts.SpanCount)
	waitCount(t, "log records delivered", 2, h.ls.LogRecordCount)
	assert.Nil(t, attr(allSpans(h.ts)[0].Attributes(), "x_request_id"))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_held_released",
		attribute.String("signal", "traces"), attribute.String("reason", "timeout")))
	assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_held_released",
		attribute.String("signal", "logs"), attribute.String("reason", "timeout")))
}

func TestShutdownReleasesHeldItems(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Propagation.Wait = time.Hour
	set := processortest.NewNopSettings(metadata.Type)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	ts, ls := &consumertest.TracesSink{}, &consumertest.LogsSink{}
	tp, err := NewFactory().CreateTraces(context.Background(), set, cfg, ts)
	require.NoError(t, err)
	lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, ls)
	require.NoError(t, err)
	require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))

	require.NoError(t, tp.ConsumeTraces(context.Background(), traces(t, workerSpan(1, 2), workerSpan(2, 2))))
	require.NoError(t, lp.ConsumeLogs(context.Background(), logs(t, 3, "x")))
	assert.Zero(t, ts.SpanCount())
	assert.Zero(t, ls.LogRecordCount())

	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Equal(t, 2, ts.SpanCount(), "delivered before Shutdown returns")
	assert.Zero(t, ls.LogRecordCount(), "the logs instance still runs and holds its own")
	require.NoError(t, lp.Shutdown(context.Background()))
	assert.Equal(t, 1, ls.LogRecordCount())
	h := &harness{tel: tel}
	assert.Equal(t, int64(3), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "shutdown")))
}

func TestOverflowReleasesOldestUnchanged(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Propagation.Wait = time.Minute
		c.Propagation.MaxHeldItems = 2
	}, nil, nil)
	ctx := context.Background()
	for trace := byte(1); trace <= 3; trace++ {
		require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(trace, 2))))
	}
	waitCount(t, "spans delivered", 1, h.ts.SpanCount)
	assert.Equal(t, traceID(1), allSpans(h.ts)[0].TraceID(), "the oldest goes first")
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "overflow")))

	// A batch bigger than the bound passes unchanged at once, counted.
	td := traces(t, workerSpan(4, 2), workerSpan(4, 3), workerSpan(4, 4))
	require.NoError(t, h.tp.ConsumeTraces(ctx, td))
	assert.Equal(t, 4, h.ts.SpanCount())
	assert.Equal(t, int64(4), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "overflow")))
}

func TestNoWaitAnnotatesKnownOnly(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = 0 }, nil, nil)
	ctx := context.Background()
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2))))
	assert.Equal(t, 1, h.ts.SpanCount())
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(1), workerSpan(1, 3))))
	spans := allSpans(h.ts)
	require.Len(t, spans, 3)
	assert.Nil(t, attr(spans[0].Attributes(), "x_request_id"))
	assert.Equal(t, xrid, attr(spans[2].Attributes(), "x_request_id"))
}

func TestPropagationOff(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Enabled = false }, nil, nil)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, frontendRoot(1), workerSpan(1, 2))))
	spans := allSpans(h.ts)
	require.Len(t, spans, 2)
	assert.Nil(t, attr(spans[1].Attributes(), "x_request_id"))
	assert.Equal(t, "http-request", spans[0].Name())
}

// System spans are dropped with propagation on and off, and the rest of
// their batch goes on (annotated only with propagation).
func TestSystemSpansDropped(t *testing.T) {
	for _, propagation := range []bool{true, false} {
		t.Run(fmt.Sprintf("propagation=%t", propagation), func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.SpanNames.SystemEndpoints = "drop"
				c.Propagation.Enabled = propagation
			}, nil, nil)
			health := spanSpec{service: "dynamo-frontend", name: "http-request", trace: 9, id: 1, attrs: map[string]any{"uri": "/health", "method": "GET"}}
			require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, health)))
			assert.Zero(t, h.ts.SpanCount())
			require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, health, frontendRoot(1), workerSpan(1, 2))))
			spans := allSpans(h.ts)
			require.Len(t, spans, 2)
			assert.Equal(t, "http-request", spans[0].Name())
			assert.Equal(t, "handle_payload", spans[1].Name())
			if propagation {
				assert.Equal(t, xrid, attr(spans[1].Attributes(), "x_request_id"))
			} else {
				assert.Nil(t, attr(spans[1].Attributes(), "x_request_id"))
			}
			assert.Equal(t, int64(2), h.metric(t, "otelcol_processor_dynamo_system_spans", attribute.String("action", "dropped")))
		})
	}
}

func TestSystemSpansRenamed(t *testing.T) {
	h := newHarness(t, nil, nil, nil)
	models := spanSpec{service: "dynamo-frontend", name: "http-request", trace: 9, id: 1, attrs: map[string]any{"uri": "/v1/models", "method": "GET"}}
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, models)))
	require.Equal(t, 1, h.ts.SpanCount())
	assert.Equal(t, "http-request.system", allSpans(h.ts)[0].Name())
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_system_spans", attribute.String("action", "renamed")))
}

// flaky refuses the first n calls with a retryable error.
type flaky struct {
	consumertest.TracesSink
	mu        sync.Mutex
	refuse    int
	permanent bool
	calls     int
}

func (f *flaky) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.mu.Lock()
	f.calls++
	refuse := f.calls <= f.refuse
	f.mu.Unlock()
	if refuse {
		if f.permanent {
			return consumererror.NewPermanent(errors.New("bad data"))
		}
		return errors.New("queue full")
	}
	return f.TracesSink.ConsumeTraces(ctx, td)
}

func TestReleaseRetriesRetryableErrors(t *testing.T) {
	next := &flaky{refuse: 2}
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, next, nil)
	ctx := context.Background()
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, workerSpan(1, 2))))
	next.mu.Lock()
	next.refuse += next.calls // refuse the release's first two attempts
	next.mu.Unlock()
	require.NoError(t, h.lp.ConsumeLogs(ctx, func() plog.Logs {
		ld := logs(t, 1, "x")
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("x_request_id", xrid)
		return ld
	}()))
	waitCount(t, "spans delivered", 1, next.SpanCount)
	assert.Zero(t, h.metric(t, "otelcol_processor_dynamo_release_refused"))
}

func TestReleaseRefusedIsCounted(t *testing.T) {
	next := &flaky{refuse: 1 << 30, permanent: true}
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = 10 * time.Millisecond }, next, nil)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, workerSpan(1, 2))))
	waitCount(t, "refused", 1, func() int { return int(h.metric(t, "otelcol_processor_dynamo_release_refused")) })
	next.mu.Lock()
	assert.Equal(t, 1, next.calls, "a permanent error is not retried")
	next.mu.Unlock()
}

// Every value type on every key a rule reads: nothing panics, nothing is lost.
func TestAnyValueTypeOnAnyKey(t *testing.T) {
	keys := []string{
		"x_request_id", "x-request-id", "http.request.header.x-request-id", "x_dynamo_request_id", "request_id",
		"method", "uri", "version", "request.outcome", "otel.status_code", "error.type", "component",
		"disagg_role", "trace_id", "span_id", "input_tokens", "instance_id", "ttft_ms",
	}
	values := []any{int64(1), true, 2.5, []byte{1}, map[string]any{"a": 1}, []any{}, []any{int64(3)}, []any{map[string]any{}}, "", nil}
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = 0 }, nil, nil)
	for _, k := range keys {
		for _, v := range values {
			root := spanSpec{service: "dynamo", name: "http-request", trace: 1, id: 1, attrs: map[string]any{k: v}}
			assert.NotPanics(t, func() {
				require.NoError(t, h.tp.ConsumeTraces(context.Background(), traces(t, root)))
				ld := logs(t, 1, "m")
				require.NoError(t, ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().FromRaw(map[string]any{k: v}))
				require.NoError(t, h.lp.ConsumeLogs(context.Background(), ld))
			}, "%s=%v", k, v)
		}
	}
	assert.Equal(t, len(keys)*len(values), h.ts.SpanCount())
	assert.Equal(t, len(keys)*len(values), h.ls.LogRecordCount())
	assert.Positive(t, h.metric(t, "otelcol_processor_dynamo_attributes_unconverted", attribute.String("reason", "unexpected_type")))
}

func TestSharedStateFollowsComponentID(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "shared")
	a, err := processors.getOrCreate(set, cfg)
	require.NoError(t, err)
	b, err := processors.getOrCreate(set, cfg)
	require.NoError(t, err)
	assert.Same(t, a, b, "one component ID, one state")

	other := set
	other.ID = component.NewIDWithName(metadata.Type, "other")
	c, err := processors.getOrCreate(other, cfg)
	require.NoError(t, err)
	assert.NotSame(t, a, c)

	ctx, host := context.Background(), componenttest.NewNopHost()
	require.NoError(t, processors.start(ctx, a, host))
	require.NoError(t, processors.start(ctx, a, host))
	require.NoError(t, processors.shutdown(ctx, a))
	processors.mu.Lock()
	_, still := processors.m[set.ID]
	processors.mu.Unlock()
	assert.True(t, still, "one instance still runs")
	require.NoError(t, processors.shutdown(ctx, a))
	processors.mu.Lock()
	_, still = processors.m[set.ID]
	delete(processors.m, other.ID)
	processors.mu.Unlock()
	assert.False(t, still, "the last shutdown forgets the state")
}

// A batch the processor has normalized comes out of it again unchanged: a
// second dynamo processor (or a replay) changes nothing.
func TestNormalizedBatchIsLeftAsItIs(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), dynamoBatch(t)))
	require.Len(t, h.ts.AllTraces(), 1, "the batch held its roots: nothing waits")
	first := h.ts.AllTraces()[0]
	for _, s := range allSpans(h.ts) {
		require.NotNil(t, attr(s.Attributes(), "x_request_id"), s.Name())
	}

	again := ptrace.NewTraces()
	first.CopyTo(again)
	h2 := newHarness(t, nil, nil, nil)
	require.NoError(t, h2.tp.ConsumeTraces(context.Background(), again))
	require.Len(t, h2.ts.AllTraces(), 1)
	assert.Equal(t, first, h2.ts.AllTraces()[0])
	assert.Zero(t, h2.metric(t, "otelcol_processor_dynamo_items_changed"))
}

// Many requests, their spans and log records shuffled into batches sent
// concurrently to both pipelines: every item arrives exactly once, with its
// trace's x_request_id.
func TestConcurrentPipelinesDeliverEverythingOnce(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	const requests = 60
	type unit struct {
		td ptrace.Traces
		ld plog.Logs
	}
	var units []unit
	for r := 1; r <= requests; r++ {
		tr := byte(r)
		root := frontendRoot(tr)
		root.attrs["x_request_id"] = fmt.Sprintf("req-%d", r)
		units = append(units, unit{td: traces(t, root)})
		for c := byte(2); c <= 4; c++ {
			units = append(units, unit{td: traces(t, workerSpan(tr, c))})
		}
		units = append(units, unit{ld: logs(t, tr, "a", "b")})
	}
	// A deterministic shuffle: roots often come after their children.
	for i := range units {
		j := (i*7919 + 13) % len(units)
		units[i], units[j] = units[j], units[i]
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(units); i += 4 {
				if units[i].ld != (plog.Logs{}) {
					assert.NoError(t, h.lp.ConsumeLogs(context.Background(), units[i].ld))
				} else {
					assert.NoError(t, h.tp.ConsumeTraces(context.Background(), units[i].td))
				}
			}
		}(w)
	}
	wg.Wait()
	waitCount(t, "spans delivered", requests*4, h.ts.SpanCount)
	waitCount(t, "log records delivered", requests*2, h.ls.LogRecordCount)

	seen := map[string]int{}
	for _, s := range allSpans(h.ts) {
		want := fmt.Sprintf("req-%d", int(s.TraceID()[15]))
		assert.Equal(t, want, attr(s.Attributes(), "x_request_id"))
		seen[s.TraceID().String()+s.SpanID().String()]++
	}
	for _, lr := range allRecords(h.ls) {
		assert.Equal(t, fmt.Sprintf("req-%d", int(lr.TraceID()[15])), attr(lr.Attributes(), "x_request_id"))
		seen[lr.TraceID().String()+lr.SpanID().String()]++
	}
	for k, n := range seen {
		assert.Equal(t, 1, n, "item %s delivered %d times", k, n)
	}
	assert.Len(t, seen, requests*6)
	waitCount(t, "held gauge", 0, func() int { return int(h.metric(t, "otelcol_processor_dynamo_held_items")) })
}

// The rule counters reach the self-telemetry.
func TestRuleCounters(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SpanNames.MaxPerService = 1 }, nil, nil)
	td := traces(t,
		spanSpec{service: "svc", name: "GET /v1/files/123456", trace: 1, id: 1, attrs: map[string]any{"input_tokens": "many", "x_request_id": "r"}},
		spanSpec{service: "svc", name: "another name", trace: 1, id: 2, parent: 1, attrs: map[string]any{"instance_id": "99999999999999999999"}},
		spanSpec{service: "svc", name: "handle_payload", trace: 1, id: 3, parent: 1, attrs: map[string]any{"output_tokens": true}},
	)
	require.NoError(t, h.tp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_span_names_templated"))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_span_name_overflow"))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_attributes_unconverted", attribute.String("reason", "not_a_number")))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_attributes_unconverted", attribute.String("reason", "out_of_range")))
	assert.Equal(t, int64(1), h.metric(t, "otelcol_processor_dynamo_attributes_unconverted", attribute.String("reason", "unexpected_type")))
	names := map[string]bool{}
	for _, s := range allSpans(h.ts) {
		names[s.Name()] = true
	}
	assert.Equal(t, map[string]bool{"GET /v1/files/{id}": true, "span_name_overflow": true, "handle_payload": true}, names)
}

// Two traces pipelines with the same dynamo processor share what they learn
// and each gets its own held items back.
func TestTwoTracesPipelinesShareKnowledge(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Propagation.Wait = time.Minute
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, t.Name())
	a, b := &consumertest.TracesSink{}, &consumertest.TracesSink{}
	pa, err := NewFactory().CreateTraces(context.Background(), set, cfg, a)
	require.NoError(t, err)
	pb, err := NewFactory().CreateTraces(context.Background(), set, cfg, b)
	require.NoError(t, err)
	for _, p := range []processor.Traces{pa, pb} {
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		p := p
		t.Cleanup(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	}
	require.NoError(t, pa.ConsumeTraces(context.Background(), traces(t, workerSpan(1, 2))))
	require.NoError(t, pb.ConsumeTraces(context.Background(), traces(t, frontendRoot(1))))
	waitCount(t, "spans delivered to the first pipeline", 1, a.SpanCount)
	assert.Equal(t, xrid, attr(allSpans(a)[0].Attributes(), "x_request_id"))
	assert.Equal(t, 1, b.SpanCount())
}

// mixedItem is one item of a mixed batch: its resource and scope, its trace
// (0: none) and an id to recognise it by.
type mixedItem struct {
	service, scope string
	trace          byte
	id             string
}

// mixedItems interleaves, over two resources of two scopes each, items of
// traces 1, 2 and 3 (held), 4 (known) and none.
func mixedItems() []mixedItem {
	var items []mixedItem
	n := 0
	for _, svc := range []string{"svc-a", "svc-b"} {
		for _, scope := range []string{"scope-1", "scope-2"} {
			for _, trace := range []byte{1, 2, 0, 3, 1, 4, 2, 2, 3} {
				if svc == "svc-b" && scope == "scope-1" && trace == 3 {
					continue // a scope without trace 3
				}
				items = append(items, mixedItem{service: svc, scope: scope, trace: trace, id: fmt.Sprintf("item-%d", n)})
				n++
			}
		}
	}
	// A scope whose items are all of one held trace.
	items = append(items, mixedItem{service: "svc-b", scope: "scope-3", trace: 3, id: "item-all-3"})
	return items
}

func mixedLogs(items []mixedItem) plog.Logs {
	ld := plog.NewLogs()
	var rl plog.ResourceLogs
	var sl plog.ScopeLogs
	for i, it := range items {
		if i == 0 || it.service != items[i-1].service {
			rl = ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", it.service)
			rl.SetSchemaUrl("https://schema/" + it.service)
		}
		if i == 0 || it.scope != items[i-1].scope || it.service != items[i-1].service {
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(it.scope)
			sl.SetSchemaUrl("https://schema/" + it.scope)
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(it.id)
		if it.trace != 0 {
			lr.SetTraceID(traceID(it.trace))
		}
	}
	return ld
}

func mixedTraces(items []mixedItem) ptrace.Traces {
	td := ptrace.NewTraces()
	var rs ptrace.ResourceSpans
	var ss ptrace.ScopeSpans
	for i, it := range items {
		if i == 0 || it.service != items[i-1].service {
			rs = td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", it.service)
			rs.SetSchemaUrl("https://schema/" + it.service)
		}
		if i == 0 || it.scope != items[i-1].scope || it.service != items[i-1].service {
			ss = rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(it.scope)
			ss.SetSchemaUrl("https://schema/" + it.scope)
		}
		s := ss.Spans().AppendEmpty()
		s.SetName("handle_payload")
		s.Attributes().PutStr("test.id", it.id)
		if it.trace != 0 {
			s.SetTraceID(traceID(it.trace))
		}
		s.SetSpanID(spanID(byte(100 + i)))
		s.SetParentSpanID(spanID(1))
	}
	return td
}

// seenItem is an item as it came out: where and with which x_request_id.
type seenItem struct {
	service, scope, xrid string
	schemas              string
}

func seenLogs(t *testing.T, sink *consumertest.LogsSink) map[string]seenItem {
	seen := map[string]seenItem{}
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				sl := rl.ScopeLogs().At(j)
				for k := 0; k < sl.LogRecords().Len(); k++ {
					lr := sl.LogRecords().At(k)
					id := lr.Body().Str()
					_, dup := seen[id]
					require.False(t, dup, "%s delivered twice", id)
					x, _ := attr(lr.Attributes(), "x_request_id").(string)
					seen[id] = seenItem{
						service: attr(rl.Resource().Attributes(), "service.name").(string), scope: sl.Scope().Name(), xrid: x,
						schemas: rl.SchemaUrl() + " " + sl.SchemaUrl(),
					}
				}
			}
		}
	}
	return seen
}

func seenSpans(t *testing.T, sink *consumertest.TracesSink) map[string]seenItem {
	seen := map[string]seenItem{}
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					s := ss.Spans().At(k)
					id, _ := attr(s.Attributes(), "test.id").(string)
					if id == "" {
						continue // a root sent to release a trace
					}
					_, dup := seen[id]
					require.False(t, dup, "%s delivered twice", id)
					x, _ := attr(s.Attributes(), "x_request_id").(string)
					seen[id] = seenItem{
						service: attr(rs.Resource().Attributes(), "service.name").(string), scope: ss.Scope().Name(), xrid: x,
						schemas: rs.SchemaUrl() + " " + ss.SchemaUrl(),
					}
				}
			}
		}
	}
	return seen
}

// checkSeen asserts that exactly the items of the given traces came out,
// each once, under its own resource and scope, with its trace's id.
func checkSeen(t *testing.T, items []mixedItem, seen map[string]seenItem, xrids map[byte]string) {
	t.Helper()
	want := 0
	for _, it := range items {
		x, out := xrids[it.trace]
		got, ok := seen[it.id]
		if !out {
			assert.False(t, ok, "%s (trace %d) came out", it.id, it.trace)
			continue
		}
		want++
		if assert.True(t, ok, "%s (trace %d) did not come out", it.id, it.trace) {
			assert.Equal(t, seenItem{service: it.service, scope: it.scope, xrid: x,
				schemas: "https://schema/" + it.service + " https://schema/" + it.scope}, got, it.id)
		}
	}
	assert.Len(t, seen, want)
}

func rootWithID(trace byte, id string) spanSpec {
	root := frontendRoot(trace)
	root.attrs = map[string]any{"x_request_id": id}
	if id == "" {
		root.attrs = map[string]any{"method": "POST"}
	}
	return root
}

// heldOnly keeps the items of the traces that are held (1, 2 and 3).
func heldOnly(items []mixedItem) []mixedItem {
	var held []mixedItem
	for _, it := range items {
		if it.trace >= 1 && it.trace <= 3 {
			held = append(held, it)
		}
	}
	return held
}

// A batch holding several traces across resources and scopes gives each
// trace's items back when that trace is released, in any order and any
// grouping, under their own resource and scope: whether the batch has items
// that pass at once (mixed) or every item is held (the batch's container is
// then held as it is).
func TestHeldBatchReleasedTraceByTrace(t *testing.T) {
	for _, batch := range []string{"mixed", "all_held"} {
		for _, signal := range []string{"logs", "traces"} {
			t.Run(batch+"/"+signal, func(t *testing.T) {
				items := mixedItems()
				if batch == "all_held" {
					items = heldOnly(items)
				}
				testHeldBatchReleasedTraceByTrace(t, signal, items)
			})
		}
	}
}

func testHeldBatchReleasedTraceByTrace(t *testing.T, signal string, items []mixedItem) {
	h := newHarness(t, func(c *Config) { c.Propagation.Wait = time.Minute }, nil, nil)
	ctx := context.Background()
	seen := func() map[string]seenItem {
		if signal == "logs" {
			return seenLogs(t, h.ls)
		}
		return seenSpans(t, h.ts)
	}
	count := func() int { return len(seen()) }
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootWithID(4, "rid-4"))))
	if signal == "logs" {
		require.NoError(t, h.lp.ConsumeLogs(ctx, mixedLogs(items)))
	} else {
		require.NoError(t, h.tp.ConsumeTraces(ctx, mixedTraces(items)))
	}
	// Items without a trace id and those of a known trace pass at once.
	xrids := map[byte]string{0: "", 4: "rid-4"}
	checkSeen(t, items, seen(), xrids)

	// Trace 2 alone, then traces 1 (no id) and 3 in one release.
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootWithID(2, "rid-2"))))
	xrids[2] = "rid-2"
	want := 0
	for _, it := range items {
		if _, ok := xrids[it.trace]; ok {
			want++
		}
	}
	waitCount(t, "items delivered", want, count)
	checkSeen(t, items, seen(), xrids)

	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootWithID(1, ""), rootWithID(3, "rid-3"))))
	xrids[1], xrids[3] = "", "rid-3"
	waitCount(t, "items delivered", len(items), count)
	checkSeen(t, items, seen(), xrids)
	assert.Zero(t, h.metric(t, "otelcol_processor_dynamo_held_items"))
	checkOrder(t, items, deliveredScopes(h, signal))
}

// deliveredScopes returns, per batch delivered to the sink of signal (in
// the order they came), the ids of the items of each of its scopes, in
// order (roots sent to release traces left out).
func deliveredScopes(h *harness, signal string) [][][]string {
	var out [][][]string
	if signal == "logs" {
		for _, ld := range h.ls.AllLogs() {
			var batch [][]string
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					var ids []string
					for _, lr := range sl.LogRecords().All() {
						ids = append(ids, lr.Body().Str())
					}
					batch = append(batch, ids)
				}
			}
			out = append(out, batch)
		}
		return out
	}
	for _, td := range h.ts.AllTraces() {
		var batch [][]string
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				var ids []string
				for _, s := range ss.Spans().All() {
					if id, _ := attr(s.Attributes(), "test.id").(string); id != "" {
						ids = append(ids, id)
					}
				}
				if len(ids) > 0 {
					batch = append(batch, ids)
				}
			}
		}
		if len(batch) > 0 {
			out = append(out, batch)
		}
	}
	return out
}

// checkOrder asserts that the items kept their order: in every delivered
// scope those of one trace, and in the first batch delivered (the items
// that went on at once) all of them.
func checkOrder(t *testing.T, items []mixedItem, batches [][][]string) {
	t.Helper()
	pos := map[string]int{}
	trace := map[string]byte{}
	for i, it := range items {
		pos[it.id], trace[it.id] = i, it.trace
	}
	require.NotEmpty(t, batches)
	for b, batch := range batches {
		for _, ids := range batch {
			last := map[byte]int{}
			prev := -1
			for _, id := range ids {
				tr := trace[id]
				if p, ok := last[tr]; ok {
					assert.Less(t, p, pos[id], "batch %d: %v: trace %d out of order", b, ids, tr)
				}
				last[tr] = pos[id]
				if b == 0 {
					assert.Less(t, prev, pos[id], "the items that went on at once: %v out of order", ids)
				}
				prev = pos[id]
			}
		}
	}
}

// Traces of one batch that do not all fit: those that do are held, the
// others go on unchanged with their resource and scope, at once (bigger than
// the bound) or released to make room for the batch's next trace.
func TestHeldBatchPartlyOverflows(t *testing.T) {
	items := mixedItems()
	per := map[byte]int{}
	for _, it := range items {
		per[it.trace]++
	}
	require.Less(t, per[3], per[1])
	require.Less(t, per[1], per[2])
	for _, bound := range []int{per[3], per[2]} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Propagation.Wait = time.Minute
				c.Propagation.MaxHeldItems = bound
			}, nil, nil)
			ctx := context.Background()
			require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootWithID(4, "rid-4"))))
			require.NoError(t, h.lp.ConsumeLogs(ctx, mixedLogs(items)))
			// Traces 1, 2 and 3 are held in turn, each pushing out the one
			// before (or not fitting at all): 3 stays.
			waitCount(t, "records delivered", len(items)-per[3], func() int { return len(seenLogs(t, h.ls)) })
			checkSeen(t, items, seenLogs(t, h.ls), map[byte]string{0: "", 1: "", 2: "", 4: "rid-4"})
			assert.Equal(t, int64(per[1]+per[2]), h.metric(t, "otelcol_processor_dynamo_held_released", attribute.String("reason", "overflow")))
			waitCount(t, "held gauge", per[3], func() int { return int(h.metric(t, "otelcol_processor_dynamo_held_items")) })

			require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, rootWithID(3, "rid-3"))))
			waitCount(t, "records delivered", len(items), func() int { return len(seenLogs(t, h.ls)) })
			checkSeen(t, items, seenLogs(t, h.ls), map[byte]string{0: "", 1: "", 2: "", 3: "rid-3", 4: "rid-4"})
		})
	}
}

// emptyContainers counts the resources and scopes without items that went
// downstream.
func emptyContainers(tds []ptrace.Traces, lds []plog.Logs) int {
	n := 0
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			if sss.Len() == 0 {
				n++
			}
			for j := 0; j < sss.Len(); j++ {
				if sss.At(j).Spans().Len() == 0 {
					n++
				}
			}
		}
	}
	for _, ld := range lds {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			if sls.Len() == 0 {
				n++
			}
			for j := 0; j < sls.Len(); j++ {
				if sls.At(j).LogRecords().Len() == 0 {
					n++
				}
			}
		}
	}
	return n
}

// A batch whose items are all held is released without the resources and
// scopes left empty (by a dropped system span, or sent empty), as a batch
// whose held items are taken out of it goes on without them.
func TestWhollyHeldBatchReleasedWithoutEmptyContainers(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Propagation.Wait = time.Minute
		c.SpanNames.SystemEndpoints = "drop"
	}, nil, nil)
	ctx := context.Background()
	health := spanSpec{service: "dynamo-frontend", name: "http-request", trace: 9, id: 1, attrs: map[string]any{"uri": "/health", "method": "GET"}}
	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, health, workerSpan(5, 2))))
	ld := logs(t, 5, "one", "two")
	ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	ld.ResourceLogs().AppendEmpty()
	require.NoError(t, h.lp.ConsumeLogs(ctx, ld))
	require.Zero(t, h.ts.SpanCount()+h.ls.LogRecordCount(), "items of trace 5 passed before its root")

	require.NoError(t, h.tp.ConsumeTraces(ctx, traces(t, frontendRoot(5))))
	waitCount(t, "items released", 4, func() int { return h.ts.SpanCount() + h.ls.LogRecordCount() })
	assert.Zero(t, emptyContainers(h.ts.AllTraces(), h.ls.AllLogs()))
}
