package bench

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
)

// runTraces passes every batch of w (cloned) through a fresh processor of c
// and returns what came out, after Shutdown.
func runTraces(t *testing.T, c candidate, w *Workload) []ptrace.Traces {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p := newTracesProcessor(t, c, sink)
	for i := range w.Traces {
		require.NoError(t, p.ConsumeTraces(context.Background(), w.CloneTraces(i)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	return sink.AllTraces()
}

func runLogs(t *testing.T, c candidate, w *Workload) []plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p := newLogsProcessor(t, c, sink)
	for i := range w.Logs {
		require.NoError(t, p.ConsumeLogs(context.Background(), w.CloneLogs(i)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	return sink.AllLogs()
}

// spanView is what a normalization decides about one span.
type spanView struct {
	service  string
	resource map[string]any
	name     string
	kind     ptrace.SpanKind
	status   ptrace.StatusCode
	message  string
	parent   pcommon.SpanID
	attrs    map[string]any
}

func spanViews(tds []ptrace.Traces) map[pcommon.SpanID]spanView {
	out := map[pcommon.SpanID]spanView{}
	for _, td := range tds {
		for _, rs := range td.ResourceSpans().All() {
			res := rs.Resource().Attributes().AsRaw()
			svc, _ := res["service.name"].(string)
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					out[s.SpanID()] = spanView{
						service:  svc,
						resource: res,
						name:     s.Name(),
						kind:     s.Kind(),
						status:   s.Status().Code(),
						message:  s.Status().Message(),
						parent:   s.ParentSpanID(),
						attrs:    s.Attributes().AsRaw(),
					}
				}
			}
		}
	}
	return out
}

// TestTransformBaselineNormalizes checks that the transform configuration
// of the benchmark really does the work it is compared on, on the same
// workload the benchmark uses.
func TestTransformBaselineNormalizes(t *testing.T) {
	w := processorWorkload(false)
	in := spanViews(w.Traces)
	out := spanViews(runTraces(t, transformCandidate, w))
	require.Len(t, out, len(in))
	var roots, system, converted, movedUUID, contextIDs int
	for id, before := range in {
		after := out[id]
		assert.NotContains(t, after.attrs, dynamo.DynamoRequestID)
		if uuid, ok := before.attrs[dynamo.DynamoRequestID]; ok {
			assert.Equal(t, uuid, after.attrs[dynamo.RequestID])
			movedUUID++
			if rid, ok := before.attrs[dynamo.RequestID]; ok && rid != uuid {
				assert.Equal(t, rid, after.attrs[dynamo.ContextID])
				contextIDs++
			}
		}
		for k, kind := range dynamo.NumericFields {
			v, ok := after.attrs[k]
			if !ok {
				continue
			}
			if kind == dynamo.Int {
				assert.IsType(t, int64(0), v, k)
			} else {
				assert.IsType(t, float64(0), v, k)
			}
			if _, wasStr := before.attrs[k].(string); wasStr {
				converted++
			}
		}
		if id := dynamo.IdentityFromServiceName(after.service); id.Component != "" {
			assert.Equal(t, id.Component, after.resource[dynamo.ComponentAttribute], after.service)
			if id.Role != "" {
				assert.Equal(t, id.Role, after.resource[dynamo.RoleAttribute], after.service)
			}
		}
		if before.name != dynamo.SpanHTTPRequest || !before.parent.IsEmpty() {
			continue
		}
		assert.Equal(t, ptrace.SpanKindServer, after.kind)
		assert.Equal(t, before.attrs[dynamo.MethodField], after.attrs["http.request.method"])
		if uri, _ := before.attrs[dynamo.URIField].(string); dynamo.IsSystemEndpoint(uri) {
			assert.Equal(t, dynamo.SystemSpanName, after.name)
			system++
		} else {
			assert.Equal(t, dynamo.SpanHTTPRequest, after.name)
			assert.Equal(t, "1.1", after.attrs["network.protocol.version"])
			roots++
		}
		if o, ok := before.attrs[dynamo.OutcomeField]; ok && o != dynamo.OutcomeSuccess && o != dynamo.OutcomeCancelled {
			assert.Equal(t, ptrace.StatusCodeError, after.status)
		}
	}
	t.Logf("%d spans: %d inference roots, %d system roots, %d numeric fields converted, %d Dynamo UUIDs moved, %d context ids kept apart",
		len(in), roots, system, converted, movedUUID, contextIDs)
	assert.Positive(t, roots)
	assert.Positive(t, system)
	assert.Positive(t, converted)
	assert.Positive(t, movedUUID)
	assert.Positive(t, contextIDs)
}

// TestTransformBaselineVariants runs the span-name and request-id rules of
// the transform configuration on the spellings the dynamo processor
// reconciles.
func TestTransformBaselineVariants(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "dynamo-worker-sglang-decode")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	add := func(name string, attrs map[string]any) {
		s := spans.AppendEmpty()
		s.SetName(name)
		s.SetSpanID(pcommon.SpanID{byte(spans.Len())})
		s.SetParentSpanID(pcommon.SpanID{0xff})
		require.NoError(t, s.Attributes().FromRaw(attrs))
	}
	add("HTTP_Request", map[string]any{"x-request-id": "a"})
	add("Handle-Payload", map[string]any{"http.request.header.x-request-id": []any{"b", "c"}})
	add("KV_Router.Select_Worker", map[string]any{"X-Request-ID": "d", "x_dynamo_request_id": "u", "request_id": "ctx"})
	add("GET /v1/models/123456789", map[string]any{"ttft_ms": "5.85", "instance_id": "2221573453717914121"})
	w := &Workload{Traces: []ptrace.Traces{td}}
	out := runTraces(t, transformCandidate, w)
	got := out[0].ResourceSpans().At(0)
	assert.Equal(t, map[string]any{"service.name": "dynamo-worker-sglang-decode", "dynamo.component": "worker", "dynamo.role": "decode"},
		got.Resource().Attributes().AsRaw())
	s := got.ScopeSpans().At(0).Spans()
	assert.Equal(t, "http-request", s.At(0).Name())
	assert.Equal(t, map[string]any{"x_request_id": "a"}, s.At(0).Attributes().AsRaw())
	assert.Equal(t, "handle_payload", s.At(1).Name())
	assert.Equal(t, map[string]any{"x_request_id": "b"}, s.At(1).Attributes().AsRaw())
	assert.Equal(t, "kv_router.select_worker", s.At(2).Name())
	assert.Equal(t, map[string]any{"x_request_id": "d", "request_id": "u", "dynamo.context_id": "ctx"}, s.At(2).Attributes().AsRaw())
	assert.Equal(t, "GET /v1/models/{id}", s.At(3).Name())
	assert.Equal(t, map[string]any{"ttft_ms": 5.85, "instance_id": int64(2221573453717914121)}, s.At(3).Attributes().AsRaw())
}

// TestDynamoAndTransformAgree is the correctness check of
// BenchmarkProcessor: on the benchmark's own workload the two candidates
// give every span the same name, kind, status, attributes and resource,
// except for what OTTL cannot express, which only the dynamo processor
// does: x_request_id propagated from elsewhere in the trace.
func TestDynamoAndTransformAgree(t *testing.T) {
	t.Run("default_mix", func(t *testing.T) { agree(t, processorWorkload(false)) })
	t.Run("scaling", func(t *testing.T) {
		agree(t, NewSynthWorkload(SynthOptions{Traces: 64, SpansPerTrace: 8, ExtraAttributes: 8, SpansPerBatch: 128}))
	})
}

func agree(t *testing.T, w *Workload) {
	in := spanViews(w.Traces)
	dy := spanViews(runTraces(t, dynamoCandidate, w))
	tr := spanViews(runTraces(t, transformCandidate, w))
	require.Len(t, dy, len(in))
	require.Len(t, tr, len(in))
	propagated := 0
	for id, d := range dy {
		o := tr[id]
		if _, had := o.attrs[dynamo.XRequestID]; !had {
			if _, got := d.attrs[dynamo.XRequestID]; got {
				propagated++
				delete(d.attrs, dynamo.XRequestID)
			}
		}
		if !assert.Equal(t, o, d, "span %s %q of %s", id, in[id].name, in[id].service) {
			break
		}
	}
	t.Logf("%d spans normalized alike; x_request_id propagated by the dynamo processor only: %d", len(in), propagated)
	assert.Positive(t, propagated)
}

// TestDynamoAndTransformAgreeOnLogs is the same check for log records.
func TestDynamoAndTransformAgreeOnLogs(t *testing.T) {
	w := processorWorkload(false)
	dy := recordViews(runLogs(t, dynamoCandidate, w))
	tr := recordViews(runLogs(t, transformCandidate, w))
	require.Len(t, dy, w.Records)
	require.Len(t, tr, w.Records)
	key := func(r recordView) string { return fmt.Sprint(r.SpanID, r.Timestamp, r.Body) }
	byKey := map[string]recordView{}
	for _, r := range tr {
		byKey[key(r)] = r
	}
	require.Len(t, byKey, len(tr), "records are told apart by span, time and body")
	for _, d := range dy {
		if !assert.Equal(t, byKey[key(d)], d) {
			break
		}
	}
	t.Logf("%d log records normalized alike", len(dy))
}

// TestPrimedLogsPassStraightThrough checks the premise of the "logs" case
// of BenchmarkProcessor: with the spans of their requests already seen by
// the same processor, log records pass at once, with x_request_id.
func TestPrimedLogsPassStraightThrough(t *testing.T) {
	w := processorWorkload(false)
	sink := new(consumertest.LogsSink)
	lp, tp := newPrimedLogsProcessor(t, dynamoCandidate, w, sink)
	for i := range w.Logs {
		require.NoError(t, lp.ConsumeLogs(context.Background(), w.CloneLogs(i)))
	}
	require.Equal(t, w.Records, sink.LogRecordCount(), "records passed before shutdown")
	for _, r := range recordViews(sink.AllLogs()) {
		require.Contains(t, r.Attributes, dynamo.XRequestID)
	}
	require.NoError(t, lp.Shutdown(context.Background()))
	require.NoError(t, tp.Shutdown(context.Background()))
}

// TestRequestsReleaseHeldRecords checks the premise of the "requests" case
// of BenchmarkProcessor: log records that come before their spans are held,
// and the spans' arrival releases them, each with its trace's x_request_id,
// without waiting for Shutdown.
func TestRequestsReleaseHeldRecords(t *testing.T) {
	w := processorWorkload(false)
	cfg := dynamoCandidate.config(t)
	sink := new(consumertest.LogsSink)
	lp := newLogsProcessorWith(t, dynamoCandidate, cfg, sink)
	tp := newTracesProcessorWith(t, dynamoCandidate, cfg, consumertest.NewNop())
	ctx := context.Background()
	xrids := map[string]any{} // trace id → its root's x_request_id
	// Two rounds, as the benchmark cycles through the batches: the second
	// round's records are held like the first's (their traces are new).
	for i := range 2 * len(w.Logs) {
		r := requestsOfRound(w, i)
		require.NoError(t, lp.ConsumeLogs(ctx, r.logs))
		require.Zero(t, r.logs.LogRecordCount(), "batch %d: records passed before their spans", i)
		rootXRequestIDs(r.traces, xrids)
		require.NoError(t, tp.ConsumeTraces(ctx, r.traces))
	}
	testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := sink.LogRecordCount(); got != 2*w.Records {
			return fmt.Errorf("%d of %d records released", got, 2*w.Records)
		}
		return nil
	})
	for _, r := range recordViews(sink.AllLogs()) {
		require.Contains(t, r.Attributes, dynamo.XRequestID, "record of trace %s", r.TraceID)
		assert.Equal(t, xrids[r.TraceID], r.Attributes[dynamo.XRequestID])
	}
	require.NoError(t, lp.Shutdown(ctx))
	require.NoError(t, tp.Shutdown(ctx))
}

// TestLateRootsAreHeldInEveryRound checks the premise of the
// "traces_roots_late" case of BenchmarkProcessor and of
// BenchmarkScalingSpansPerTrace: the children whose root comes a batch later
// are held in every round the benchmark cycles through the batches, not
// only in the first (the traces of a round are new ones; see
// RenewTraceIDs), and every span leaves.
func TestLateRootsAreHeldInEveryRound(t *testing.T) {
	for name, w := range map[string]*Workload{
		"requests":  processorWorkload(true),
		"synthetic": NewSynthWorkload(SynthOptions{Traces: 512, SpansPerTrace: 8, SpansPerBatch: 1024, RootsLate: true}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			sink := new(consumertest.TracesSink)
			p := newTracesProcessor(t, dynamoCandidate, sink)
			n := w.TraceBatches()
			passed := make([]int, 2*n) // spans each batch passed on at once
			for i := range passed {
				td := w.TracesOfRound(i)
				require.NoError(t, p.ConsumeTraces(ctx, td))
				passed[i] = td.SpanCount()
			}
			require.Less(t, passed[0], w.CloneTraces(0).SpanCount(), "the first batch's children wait for their roots")
			for k := range n {
				require.Equal(t, passed[k], passed[n+k], "batch %d: spans passed at once in rounds 0 and 1", k)
			}
			require.NoError(t, p.Shutdown(ctx))
			require.Equal(t, 2*w.Spans, sink.SpanCount())
		})
	}
}

// TestSampledRequestsPassUnsampledRecords checks the requests_sampled case:
// with one trace in ten sampled, the records of the other traces pass at
// once (once their source has shown that it sets the flags), unannotated
// (their spans never come), and those of the sampled traces wait for their
// root and leave with its x_request_id.
func TestSampledRequestsPassUnsampledRecords(t *testing.T) {
	w := processorWorkload(false)
	cfg := dynamoCandidate.config(t)
	// The first batch's records of sources not yet known to set the flags
	// wait for their (absent) root that long.
	cfg.(*dynamoprocessor.Config).Propagation.Wait = 200 * time.Millisecond
	sink := new(consumertest.LogsSink)
	lp := newLogsProcessorWith(t, dynamoCandidate, cfg, sink)
	tp := newTracesProcessorWith(t, dynamoCandidate, cfg, consumertest.NewNop())
	ctx := context.Background()
	xrids := map[string]any{} // sampled trace id → its root's x_request_id
	unsampled, sampled := 0, 0
	for i := range w.Logs {
		r := requestBatch{w.CloneLogs(i), w.CloneTraces(i)}
		sampleTraces(r, 10)
		for _, rs := range r.traces.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				require.NotZero(t, ss.Spans().Len(), "batch %d: a scope without spans", i)
			}
			require.NotZero(t, rs.ScopeSpans().Len(), "batch %d: a resource without spans", i)
		}
		n, pass := r.logs.LogRecordCount(), sumUnsampled(r.logs)
		unsampled += pass
		sampled += n - pass
		require.NoError(t, lp.ConsumeLogs(ctx, r.logs))
		// What the batch still holds went on with it; held records were
		// moved out. (The sink's count would also take in earlier records
		// released meanwhile on the processor's goroutine.) A source
		// (service and scope) whose records have not yet shown the sampled
		// bit may be one that never sets the flags: its records wait. In
		// this workload every source shows it in the first batch.
		if passed := r.logs.LogRecordCount(); i == 0 {
			require.LessOrEqual(t, passed, pass)
		} else {
			require.Equal(t, pass, passed, "batch %d: unsampled records pass at once", i)
		}
		rootXRequestIDs(r.traces, xrids)
		require.NoError(t, tp.ConsumeTraces(ctx, r.traces))
	}
	require.NotZero(t, sampled)
	require.Greater(t, unsampled, 5*sampled, "about one trace in ten is sampled")
	testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := sink.LogRecordCount(); got != w.Records {
			return fmt.Errorf("%d of %d records delivered", got, w.Records)
		}
		return nil
	})
	for _, r := range recordViews(sink.AllLogs()) {
		if want, ok := xrids[r.TraceID]; ok {
			assert.Equal(t, want, r.Attributes[dynamo.XRequestID], "record of sampled trace %s", r.TraceID)
		} else {
			assert.NotContains(t, r.Attributes, dynamo.XRequestID, "record of unsampled trace %s", r.TraceID)
		}
	}
	require.NoError(t, lp.Shutdown(ctx))
	require.NoError(t, tp.Shutdown(ctx))
}

// rootXRequestIDs notes, per trace id, the x_request_id of td's root spans.
func rootXRequestIDs(td ptrace.Traces, xrids map[string]any) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if v, ok := sp.Attributes().Get(dynamo.XRequestID); ok && sp.ParentSpanID().IsEmpty() {
					xrids[sp.TraceID().String()] = v.Str()
				}
			}
		}
	}
}

// sumUnsampled counts the records of ld with a trace id and the sampled bit
// clear.
func sumUnsampled(ld plog.Logs) int {
	n := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if !lr.TraceID().IsEmpty() && !lr.Flags().IsSampled() {
					n++
				}
			}
		}
	}
	return n
}

// TestRuleTogglesChangeTheOutput checks the premise of BenchmarkRuleCosts:
// on its workload, turning any one rule off (or every rule) changes spans
// the default configuration gives, so each rule has work to do there, and
// every span still comes out.
func TestRuleTogglesChangeTheOutput(t *testing.T) {
	w := ruleCostWorkload()
	all := spanViews(runTraces(t, allRules, w))
	require.Len(t, all, w.Spans)
	for _, r := range ruleCostCases {
		t.Run(r.name, func(t *testing.T) {
			got := spanViews(runTraces(t, without(r), w))
			require.Len(t, got, w.Spans)
			changed := 0
			for id, v := range all {
				if !reflect.DeepEqual(v, got[id]) {
					changed++
				}
			}
			require.Positive(t, changed, "with %s off, every span is as with every rule on", r.name)
		})
	}
}
