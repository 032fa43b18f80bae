package normalize

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// fuzzKeys are the attribute keys the rules read, each of which the fuzzer
// fills with a value of any type (or leaves out).
var fuzzKeys = []string{
	dynamo.XRequestID, "x-request-id", dynamo.HTTPHeaderXRequestID, "http.request.header.x_request_id",
	"X-Request-Id", "X-Request-ID", dynamo.DynamoRequestID, dynamo.RequestID, dynamo.GenAIRequestID,
	dynamo.ContextID, "uri", "method", "version", "component", "disagg_role", "endpoint", "instance_id",
	"input_tokens", "output_tokens", "ttft_ms", "time.busy_us", "otel.status_code", "otel.status_description",
	"request.outcome", "error.type", "otel.kind", dynamo.SpanNameField, dynamo.TraceIDField, dynamo.SpanIDField,
	dynamo.ParentIDField,
}

// fuzzValue puts under key a value whose type and content the selector byte
// picks, built from the fuzzer's strings and numbers.
func fuzzValue(m pcommon.Map, key string, sel byte, s1, s2 string, i int64, f float64) {
	switch sel % 13 {
	case 0: // absent
	case 1:
		m.PutStr(key, s1)
	case 2:
		m.PutStr(key, s2)
	case 3:
		m.PutInt(key, i)
	case 4:
		m.PutDouble(key, f)
	case 5:
		m.PutBool(key, i%2 == 0)
	case 6:
		m.PutEmptyBytes(key).FromRaw([]byte(s1))
	case 7:
		sl := m.PutEmptySlice(key)
		sl.AppendEmpty().SetStr(s1)
		sl.AppendEmpty().SetStr(s2)
	case 8:
		m.PutEmptySlice(key)
	case 9:
		sl := m.PutEmptySlice(key)
		sl.AppendEmpty().SetInt(i)
	case 10:
		sl := m.PutEmptySlice(key)
		sl.AppendEmpty().SetEmptySlice().AppendEmpty().SetStr(s1)
	case 11:
		mm := m.PutEmptyMap(key)
		mm.PutStr(s1, s2)
	case 12:
		m.PutEmpty(key)
	}
}

func fillAttrs(m pcommon.Map, sel []byte, s1, s2 string, i int64, f float64) {
	for k, key := range fuzzKeys {
		var b byte
		if k < len(sel) {
			b = sel[k]
		}
		fuzzValue(m, key, b, s1, s2, i, f)
	}
}

// raw renders a value for a failure message; a missing value is <absent>.
func raw(m pcommon.Map, key string) any {
	v, ok := m.Get(key)
	if !ok {
		return "<absent>"
	}
	return v.AsRaw()
}

// checkRequestIDRules asserts the request-id rules' promises on attrs after
// the rules ran, given the attributes before.
func checkRequestIDRules(t *testing.T, before, after pcommon.Map, xrid string) {
	t.Helper()
	if xrid != "" {
		v, ok := after.Get(dynamo.XRequestID)
		if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() != xrid {
			t.Fatalf("returned x_request_id %q but the attribute is %v", xrid, raw(after, dynamo.XRequestID))
		}
	}
	if v, ok := before.Get(dynamo.XRequestID); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		if xrid != v.Str() {
			t.Fatalf("canonical x_request_id %q replaced by %q", v.Str(), xrid)
		}
	}
	// vLLM's own id is left exactly as it is.
	gb, okb := before.Get(dynamo.GenAIRequestID)
	ga, oka := after.Get(dynamo.GenAIRequestID)
	if okb != oka || (okb && !gb.Equal(ga)) {
		t.Fatalf("gen_ai.request.id changed from %v to %v", raw(before, dynamo.GenAIRequestID), raw(after, dynamo.GenAIRequestID))
	}
	// Dynamo's UUID ends up under request_id; a different request_id next
	// to it moves to dynamo.context_id.
	if u, ok := before.Get(dynamo.DynamoRequestID); ok && u.Type() == pcommon.ValueTypeStr && u.Str() != "" {
		r, ok := after.Get(dynamo.RequestID)
		// (A request_id that already holds the same id in another type, such
		// as [0] next to "0", is left in that type.)
		if got, valid := idString(r); !ok || !valid || got != u.Str() {
			t.Fatalf("x_dynamo_request_id %q but request_id after is %v", u.Str(), raw(after, dynamo.RequestID))
		}
		if old, ok := before.Get(dynamo.RequestID); ok {
			if same, valid := idString(old); valid && same == u.Str() {
				return
			}
			c, ok := after.Get(dynamo.ContextID)
			if !ok || !c.Equal(old) {
				t.Fatalf("request_id %v next to x_dynamo_request_id %q: dynamo.context_id is %v", old.AsRaw(), u.Str(), raw(after, dynamo.ContextID))
			}
		}
	}
}

// FuzzRequestIDRules runs the span and log-record rules with the default
// settings on items whose request-id keys (and the other keys the rules read)
// hold values of every type: no panic, and the request-id promises hold.
func FuzzRequestIDRules(f *testing.F) {
	f.Add("http-request", "dynamo-frontend", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1}, "test-trace-001", "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", int64(9), 5.85)
	f.Add("handle_payload", "dynamo-worker-prefill", []byte{0, 2, 7, 0, 0, 0, 1, 2}, "8372eac7-5f43-4d76-beca-0a94cfb311d0", "a1b2c3d4-0000-4000-8000-000000000001", int64(2221573453717914121), 0.0)
	f.Add("client_request", "frontend", []byte{0, 0, 0, 0, 0, 0, 1, 2, 1}, "8372eac7-5f43-4d76-beca-0a94cfb311d0", "ctx-1", int64(-1), -0.0)
	f.Add("llm_request", "dynamo-worker-vllm", []byte{3, 9, 10, 8, 11, 12, 4, 5, 6}, "", "\xff", int64(0), 1e308)
	f.Add("GET /v1/models/{id}", "", []byte{12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12}, "/health", "HTTP/1.1", int64(1), 2.5)
	f.Fuzz(func(t *testing.T, name, service string, sel []byte, s1, s2 string, i int64, fl float64) {
		n := New(Defaults())

		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(name)
		span.SetTraceID(pcommon.TraceID{1})
		span.SetSpanID(pcommon.SpanID{2})
		fillAttrs(span.Attributes(), sel, s1, s2, i, fl)
		ev := span.Events().AppendEmpty()
		fillAttrs(ev.Attributes(), sel, s2, s1, i, fl)
		before := pcommon.NewMap()
		span.Attributes().CopyTo(before)

		var st Stats
		var state ResourceState
		n.BeginResource(&state, rs.Resource())
		res := n.Span(&state, span, &st)
		n.EndResource(&state, rs.Resource())
		checkRequestIDRules(t, before, span.Attributes(), res.XRequestID)
		if name != "" && span.Name() == "" && !res.Drop {
			t.Fatalf("span name %q became empty", name)
		}

		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(s1)
		fillAttrs(lr.Attributes(), sel, s1, s2, i, fl)
		lbefore := pcommon.NewMap()
		lr.Attributes().CopyTo(lbefore)
		var lstate ResourceState
		n.BeginResource(&lstate, rl.Resource())
		lres := n.LogRecord(&lstate, lr, &st)
		n.EndResource(&lstate, rl.Resource())
		checkRequestIDRules(t, lbefore, lr.Attributes(), lres.XRequestID)

		// The rules are idempotent on what they produced.
		again := n.LogRecord(&lstate, lr, &st)
		if again.XRequestID != lres.XRequestID {
			t.Fatalf("second pass found x_request_id %q, first %q", again.XRequestID, lres.XRequestID)
		}
	})
}
