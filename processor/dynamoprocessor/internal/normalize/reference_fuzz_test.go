package normalize

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// refKeys are the keys FuzzMatchesReference fills: every key a rule reads
// or writes, and a user alias.
var refKeys = append(append([]string(nil), fuzzKeys...),
	HTTPRequestMethodKey, URLPathKey, NetworkProtocolVersionKey, dynamo.OriginalSpanNameAttribute, "req.id", "time.idle_us")

// refExtraAliases are the user aliases the fuzzer configures, ordinary ones
// and ones that collide with keys the rules read or with each other.
var refExtraAliases = [][]string{
	nil,
	{"req.id"},
	{"uri"},
	{"alias.a", "alias.b", "alias.c", "alias.d", "req.id"},
	{dynamo.RequestID, dynamo.DynamoRequestID},
	{"component", dynamo.SpanNameField},
	{dynamo.ContextID, URLPathKey},
	{"input_tokens", "req.id", "req.id", "X-Request-Id"},
}

// refSettings derives settings from cfg; cfg 0 is Defaults.
func refSettings(cfg uint16) Settings {
	s := Defaults()
	bit := func(i int) bool { return cfg&(1<<i) != 0 }
	s.RemoveAliases = s.RemoveAliases != bit(0)
	s.RequestIDs = s.RequestIDs != bit(1)
	s.Canonicalize = s.Canonicalize != bit(2)
	s.Template = s.Template != bit(3)
	s.System = [4]SystemAction{SystemRename, SystemDrop, SystemKeep, SystemRename}[(cfg>>4)&3]
	s.HTTPSemantics = s.HTTPSemantics != bit(6)
	s.Status = s.Status != bit(7)
	s.Components = s.Components != bit(8)
	s.Numeric = s.Numeric != bit(9)
	if bit(10) {
		s.MaxNamesPerSvc = 1
	}
	if bit(11) {
		s.Rules = []Rule{{Pattern: regexp.MustCompile(`^worker-(\d+)$`), Replacement: "worker"}}
		s.ServiceMappings = []ServiceMapping{{Pattern: regexp.MustCompile(`^custom`), Identity: dynamo.Identity{Component: dynamo.ComponentWorker}}}
	}
	s.ExtraXRequestIDAliases = refExtraAliases[(cfg>>12)&7]
	if bit(15) {
		s.ExtraNumericFields = map[string]dynamo.NumberKind{
			"req.id": dynamo.Int, "method": dynamo.Double, "time.idle_us": dynamo.Double, "otel.kind": 0, "endpoint": 3,
		}
	}
	return s
}

// refFill fills m with the fuzzer's values: filler attributes, then the keys
// of refKeys from the rotation rot on, then sometimes duplicates of a few of
// them.
func refFill(m pcommon.Map, sel []byte, rot, filler int, s1, s2 string, i int64, f float64) {
	for k := range filler {
		m.PutStr(fmt.Sprintf("user.attribute_%02d", k), s2)
	}
	for j := range refKeys {
		k := (j + rot) % len(refKeys)
		var b byte
		if k < len(sel) {
			b = sel[k]
		}
		fuzzValue(m, refKeys[k], b, s1, s2, i, f)
	}
}

// shiftSel returns sel moved by n places: key k gets the selector byte of key
// k+n.
func shiftSel(sel []byte, n int) []byte {
	out := make([]byte, len(sel))
	for k := range sel {
		out[k] = sel[(k+n)%len(sel)]
	}
	return out
}

// withDuplicates returns attrs followed by a second copy of the keys whose
// selector byte has its high bit set, each with another value: what a
// decoder hands over when a sender repeats a key. pdata keeps the repeats.
func withDuplicates(sel []byte, s1, s2 string, i int64, f float64) (pcommon.Map, bool) {
	dup := pcommon.NewMap()
	for k, key := range refKeys {
		if k < len(sel) && sel[k]&0x80 != 0 {
			fuzzValue(dup, key, sel[k]>>1, s2, s1, i+1, f+1)
		}
	}
	return dup, dup.Len() > 0
}

// appendRaw appends the key-value pairs of extra to the attributes of every
// span and log record of an OTLP JSON document, through encoding/json, so
// that the result may repeat keys.
func appendRaw(t *testing.T, doc []byte, extra pcommon.Map, list string) []byte {
	t.Helper()
	// The JSON of extra, as the attributes of a one-record document.
	ld := plog.NewLogs()
	extra.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes())
	eb, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	var e map[string]any
	require.NoError(t, json.Unmarshal(eb, &e))
	kvs := e["resourceLogs"].([]any)[0].(map[string]any)["scopeLogs"].([]any)[0].(map[string]any)["logRecords"].([]any)[0].(map[string]any)["attributes"].([]any)

	var d map[string]any
	require.NoError(t, json.Unmarshal(doc, &d))
	outer, inner, items := "resourceSpans", "scopeSpans", "spans"
	if list == "logs" {
		outer, inner, items = "resourceLogs", "scopeLogs", "logRecords"
	}
	for _, r := range d[outer].([]any) {
		for _, s := range r.(map[string]any)[inner].([]any) {
			for _, it := range s.(map[string]any)[items].([]any) {
				m := it.(map[string]any)
				a, _ := m["attributes"].([]any)
				m["attributes"] = append(a, kvs...)
			}
		}
	}
	out, err := json.Marshal(d)
	require.NoError(t, err)
	return out
}

// sameMap fails unless a and b hold the same keys in the same order with
// equal values.
func sameMap(t *testing.T, what string, want, got pcommon.Map) {
	t.Helper()
	if want.Len() != got.Len() {
		t.Fatalf("%s: %d attributes, reference %d:\n got  %v\n want %v", what, got.Len(), want.Len(), keysOf(got), keysOf(want))
	}
	wk, gk := keysOf(want), keysOf(got)
	for i := range wk {
		if wk[i] != gk[i] {
			t.Fatalf("%s: attribute order differs:\n got  %v\n want %v", what, gk, wk)
		}
	}
	i := 0
	var wv []pcommon.Value
	for _, v := range want.All() {
		wv = append(wv, v)
	}
	for k, v := range got.All() {
		if !v.Equal(wv[i]) {
			t.Fatalf("%s: %q is %v, reference %v", what, k, v.AsRaw(), wv[i].AsRaw())
		}
		i++
	}
}

func keysOf(m pcommon.Map) []string {
	var ks []string
	for k := range m.All() {
		ks = append(ks, k)
	}
	return ks
}

// refSecondNames are the names of a resource's second item.
var refSecondNames = []string{"handle_payload", "http-request", "engine.generate", "HTTP_Request", "worker-12", "client_request", "GET /v1/models/123456"}

// FuzzMatchesReference runs the rules and the reference (the rules as they
// were before the single scan kept the values they read) on the same items
// under fuzzed settings: both must make exactly the same changes (attribute
// order included), return the same results and count the same stats.
func FuzzMatchesReference(f *testing.F) {
	f.Add(uint16(0), "http-request", "dynamo-frontend", []byte{1, 0, 0, 0, 0, 0, 0, 0, 1}, byte(0), byte(0), false, "test-trace-001", "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", int64(9), 5.85)
	f.Add(uint16(0), "http-request", "dynamo-frontend", []byte{0, 1, 7, 1, 0, 0, 1, 2, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1}, byte(3), byte(40), false, "/v1/chat/completions?x=1", "HTTP/2.0", int64(9), 5.85)
	f.Add(uint16(0), "handle_payload", "dynamo-worker-prefill", []byte{0, 2, 7, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1}, byte(5), byte(3), true, "8372eac7-5f43-4d76-beca-0a94cfb311d0", "a1b2c3d4-0000-4000-8000-000000000001", int64(2221573453717914121), 0.0)
	f.Add(uint16(0x1000), "client_request", "frontend", []byte{0, 0, 0, 0, 0, 0, 1, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2}, byte(9), byte(1), false, "8372eac7-5f43-4d76-beca-0a94cfb311d0", "ctx-1", int64(-1), -0.0)
	f.Add(uint16(0x3411), "llm_request", "dynamo-worker-vllm", []byte{3, 9, 10, 8, 11, 12, 4, 5, 6, 0x81, 0x83, 0x87}, byte(0), byte(8), true, "", "\xff", int64(0), 1e308)
	f.Add(uint16(0x7c20), "GET /v1/models/{id}", "", []byte{12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12}, byte(2), byte(0), false, "/health", "HTTP/1.1", int64(1), 2.5)
	f.Add(uint16(0x8e40), "worker-12", "custom-svc", []byte{0x82, 1, 0x81, 2, 0, 0, 0x82, 0x82, 0x83, 0, 0, 0x81, 0x81}, byte(1), byte(60), false, "x", "error", int64(1<<62), 3.0)
	f.Fuzz(func(t *testing.T, cfg uint16, name, service string, sel []byte, rot, filler byte, root bool, s1, s2 string, i int64, fl float64) {
		s := refSettings(cfg)
		n, r := New(s), newRef(s)
		second := refSecondNames[int(rot)%len(refSecondNames)]
		// The second item's selectors are the first's moved by rot>>4 keys:
		// with 0 it carries the same keys, otherwise mostly others, which
		// it must not see through the state the two share.
		sel2 := shiftSel(sel, int(rot>>4))

		// Two spans of one resource: the fuzzed one and a second one with
		// the keys in the other order.
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for k, nm := range []string{name, second} {
			span := spans.AppendEmpty()
			span.SetName(nm)
			span.SetTraceID(pcommon.TraceID{1})
			span.SetSpanID(pcommon.SpanID{byte(k + 2)})
			if !root || k == 1 {
				span.SetParentSpanID(pcommon.SpanID{9})
			}
			span.SetKind(ptrace.SpanKind(int(filler) % 6))
			if filler%7 == 1 {
				span.Status().SetCode(ptrace.StatusCodeOk)
			}
			if k == 0 {
				refFill(span.Attributes(), sel, int(rot), int(filler)%48, s1, s2, i, fl)
			} else {
				refFill(span.Attributes(), sel2, int(rot)+7, int(filler)%5, s2, s1, i, fl)
			}
		}
		lds := plog.NewLogs()
		rl := lds.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		recs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for k := range 2 {
			lr := recs.AppendEmpty()
			lr.Body().SetStr(s1)
			if root && k == 0 {
				lr.SetTraceID(pcommon.TraceID{7})
			}
			if k == 0 {
				refFill(lr.Attributes(), sel, int(rot), int(filler)%48, s1, s2, i, fl)
			} else {
				refFill(lr.Attributes(), sel2, int(rot)+11, int(filler)%5, s2, s1, i, fl)
			}
		}
		if dup, ok := withDuplicates(sel, s1, s2, i, fl); ok {
			tb, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
			require.NoError(t, err)
			td, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(appendRaw(t, tb, dup, "spans"))
			require.NoError(t, err)
			lb, err := (&plog.JSONMarshaler{}).MarshalLogs(lds)
			require.NoError(t, err)
			lds, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(appendRaw(t, lb, dup, "logs"))
			require.NoError(t, err)
		}

		var st, rst Stats
		matchSpans(t, "", n, r, td, &st, &rst)
		matchLogs(t, "", n, r, lds, 2, &st, &rst) // the second pass sees what the first made
	})
}

// matchSpans runs the spans of td's first resource and scope through n, and
// a copy of them through r, with one resource state each, and fails unless
// every result, stats count, name, kind, status and attribute (order
// included) agrees, and the resource too. what prefixes the messages.
func matchSpans(t *testing.T, what string, n *Normalizer, r *refNormalizer, td ptrace.Traces, st, rst *Stats) {
	t.Helper()
	ref := ptrace.NewTraces()
	td.CopyTo(ref)
	res, rres := td.ResourceSpans().At(0).Resource(), ref.ResourceSpans().At(0).Resource()
	var state ResourceState
	n.BeginResource(&state, res)
	rstate := r.BeginResource(rres)
	got, want := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans(), ref.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for k := range got.Len() {
		g, w := got.At(k), want.At(k)
		gr, wr := n.Span(&state, g, st), r.Span(&rstate, w, rst)
		require.Equal(t, wr, gr, "%sspan %d result", what, k)
		require.Equal(t, *rst, *st, "%sstats after span %d", what, k)
		require.Equal(t, w.Name(), g.Name(), "%sspan %d name", what, k)
		require.Equal(t, w.Kind(), g.Kind(), "%sspan %d kind", what, k)
		require.Equal(t, w.Status().Code(), g.Status().Code(), "%sspan %d status", what, k)
		require.Equal(t, w.Status().Message(), g.Status().Message(), "%sspan %d status message", what, k)
		sameMap(t, fmt.Sprintf("%sspan %d", what, k), w.Attributes(), g.Attributes())
	}
	require.Equal(t, r.EndResource(&rstate, rres), n.EndResource(&state, res), "%sspan resource", what)
	sameMap(t, what+"span resource", rres.Attributes(), res.Attributes())
}

// matchLogs is matchSpans for the log records of ld's first resource and
// scope, passed through passes times.
func matchLogs(t *testing.T, what string, n *Normalizer, r *refNormalizer, ld plog.Logs, passes int, st, rst *Stats) {
	t.Helper()
	ref := plog.NewLogs()
	ld.CopyTo(ref)
	res, rres := ld.ResourceLogs().At(0).Resource(), ref.ResourceLogs().At(0).Resource()
	var state ResourceState
	n.BeginResource(&state, res)
	rstate := r.BeginResource(rres)
	got, want := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords(), ref.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for pass := range passes {
		for k := range got.Len() {
			g, w := got.At(k), want.At(k)
			gr, wr := n.LogRecord(&state, g, st), r.LogRecord(&rstate, w, rst)
			require.Equal(t, wr, gr, "%spass %d record %d result", what, pass, k)
			require.Equal(t, *rst, *st, "%sstats after pass %d record %d", what, pass, k)
			require.Equal(t, w.TraceID(), g.TraceID(), "%srecord %d trace id", what, k)
			require.Equal(t, w.SpanID(), g.SpanID(), "%srecord %d span id", what, k)
			sameMap(t, fmt.Sprintf("%spass %d record %d", what, pass, k), w.Attributes(), g.Attributes())
		}
	}
	require.Equal(t, r.EndResource(&rstate, rres), n.EndResource(&state, res), "%slog resource", what)
	sameMap(t, what+"log resource", rres.Attributes(), res.Attributes())
}
