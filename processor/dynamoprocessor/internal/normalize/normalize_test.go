package normalize

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

var (
	traceID = pcommon.TraceID{0x80, 0x19, 0x6f, 0x3e, 0x3a, 0x6f, 0xdf, 0x06, 0xd2, 0x3b, 0xb9, 0xad, 0xa3, 0x78, 0x85, 0x18}
	rootID  = pcommon.SpanID{0xf7, 0xe4, 0x87, 0xa9, 0xd2, 0xa6, 0xbf, 0x38}
	childID = pcommon.SpanID{0x9e, 0x2f, 0x4c, 0x7a, 0x1b, 0x3d, 0x5e, 0x60}
)

const (
	uuidNew = "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44"
	uuidMid = "8372eac7-5f43-4d76-beca-0a94cfb311d0"
	ctxID   = "a1b2c3d4-0000-4000-8000-000000000001"
)

// spanCase builds one span from a name, a parent flag and attributes given
// as a raw map (the shapes of dynamo-telemetry.md §2).
type spanCase struct {
	name    string
	service string
	root    bool
	kind    ptrace.SpanKind
	attrs   map[string]any
	status  ptrace.StatusCode
}

func newSpan(t *testing.T, c spanCase) (ptrace.Traces, ptrace.Span) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	svc := c.service
	if svc == "" {
		svc = "dynamo-frontend"
	}
	rs.Resource().Attributes().PutStr("service.name", svc)
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(c.name)
	span.SetTraceID(traceID)
	span.SetSpanID(childID)
	if c.root {
		span.SetSpanID(rootID)
	} else {
		span.SetParentSpanID(rootID)
	}
	span.SetKind(c.kind)
	span.Status().SetCode(c.status)
	require.NoError(t, span.Attributes().FromRaw(c.attrs))
	return td, span
}

func runSpan(t *testing.T, n *Normalizer, c spanCase) (ptrace.Span, SpanResult, Stats, pcommon.Resource) {
	t.Helper()
	td, span := newSpan(t, c)
	var st Stats
	res := td.ResourceSpans().At(0).Resource()
	var rs ResourceState
	n.BeginResource(&rs, res)
	r := n.Span(&rs, span, &st)
	n.EndResource(&rs, res)
	return span, r, st, res
}

func TestRequestIDs(t *testing.T) {
	tests := []struct {
		name     string
		attrs    map[string]any
		settings func(*Settings)
		want     map[string]any
		wantXRID string
		invalid  int64
	}{
		{
			name:     "canonical key kept",
			attrs:    map[string]any{"x_request_id": "test-trace-001"},
			want:     map[string]any{"x_request_id": "test-trace-001"},
			wantXRID: "test-trace-001",
		},
		{
			name:     "header spelling",
			attrs:    map[string]any{"x-request-id": "test-trace-001"},
			want:     map[string]any{"x_request_id": "test-trace-001"},
			wantXRID: "test-trace-001",
		},
		{
			name:     "semantic-convention list form takes the first value",
			attrs:    map[string]any{"http.request.header.x-request-id": []any{"test-trace-001", "other"}},
			want:     map[string]any{"x_request_id": "test-trace-001"},
			wantXRID: "test-trace-001",
		},
		{
			name:     "aliases kept when configured",
			attrs:    map[string]any{"x-request-id": "test-trace-001"},
			settings: func(s *Settings) { s.RemoveAliases = false },
			want:     map[string]any{"x_request_id": "test-trace-001", "x-request-id": "test-trace-001"},
			wantXRID: "test-trace-001",
		},
		{
			name:     "user alias",
			attrs:    map[string]any{"req.id": "abc"},
			settings: func(s *Settings) { s.ExtraXRequestIDAliases = []string{"req.id"} },
			want:     map[string]any{"x_request_id": "abc"},
			wantXRID: "abc",
		},
		{
			name:     "canonical key wins over an alias",
			attrs:    map[string]any{"x_request_id": "a", "x-request-id": "b"},
			want:     map[string]any{"x_request_id": "a"},
			wantXRID: "a",
		},
		{
			name:     "integer id becomes a string",
			attrs:    map[string]any{"x_request_id": int64(42)},
			want:     map[string]any{"x_request_id": "42"},
			wantXRID: "42",
		},
		{
			name:    "empty list left alone and counted",
			attrs:   map[string]any{"http.request.header.x-request-id": []any{}},
			want:    map[string]any{"http.request.header.x-request-id": []any{}},
			invalid: 1,
		},
		{
			name:    "list of non-strings left alone",
			attrs:   map[string]any{"http.request.header.x-request-id": []any{[]any{"x"}}},
			want:    map[string]any{"http.request.header.x-request-id": []any{[]any{"x"}}},
			invalid: 1,
		},
		{
			name:    "map value left alone",
			attrs:   map[string]any{"x_request_id": map[string]any{"a": "b"}},
			want:    map[string]any{"x_request_id": map[string]any{"a": "b"}},
			invalid: 1,
		},
		{
			name:     "bool canonical replaced by a usable alias",
			attrs:    map[string]any{"x_request_id": true, "x-request-id": "r1"},
			want:     map[string]any{"x_request_id": "r1"},
			wantXRID: "r1",
			invalid:  1,
		},
		{
			name:    "bytes left alone",
			attrs:   map[string]any{"x-request-id": []byte{1, 2}},
			want:    map[string]any{"x-request-id": []byte{1, 2}},
			invalid: 1,
		},
		{
			name:     "mid version UUID moves to request_id",
			attrs:    map[string]any{"x_dynamo_request_id": uuidMid, "x_request_id": "r"},
			want:     map[string]any{"request_id": uuidMid, "x_request_id": "r"},
			wantXRID: "r",
		},
		{
			name:  "mid version client_request: request_id is the context id",
			attrs: map[string]any{"x_dynamo_request_id": uuidMid, "request_id": ctxID, "operation": "generate"},
			want:  map[string]any{"request_id": uuidMid, "dynamo.context_id": ctxID, "operation": "generate"},
		},
		{
			name:  "both keys with the same value",
			attrs: map[string]any{"x_dynamo_request_id": uuidMid, "request_id": uuidMid},
			want:  map[string]any{"request_id": uuidMid},
		},
		{
			name:  "only request_id stays",
			attrs: map[string]any{"request_id": uuidNew},
			want:  map[string]any{"request_id": uuidNew},
		},
		{
			name:  "gen_ai.request.id left as it is",
			attrs: map[string]any{"gen_ai.request.id": "cmpl-1"},
			want:  map[string]any{"gen_ai.request.id": "cmpl-1"},
		},
		{
			// Configuration validation rejects such an alias. Taken as one
			// whenever another alias was present, and removed, it left the
			// Dynamo-id rule reading a missing key: a crash.
			name:     "x_dynamo_request_id is never an alias",
			attrs:    map[string]any{"x_dynamo_request_id": uuidMid, "request_id": ctxID, "x-request-id": "r"},
			settings: func(s *Settings) { s.ExtraXRequestIDAliases = []string{"x_dynamo_request_id", "request_id"} },
			want:     map[string]any{"x_request_id": "r", "request_id": uuidMid, "dynamo.context_id": ctxID},
			wantXRID: "r",
		},
		{
			name:    "x_dynamo_request_id of a wrong type left alone",
			attrs:   map[string]any{"x_dynamo_request_id": 1.5, "request_id": "c"},
			want:    map[string]any{"x_dynamo_request_id": 1.5, "request_id": "c"},
			invalid: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Defaults()
			s.MaxNamesPerSvc = 0
			if tt.settings != nil {
				tt.settings(&s)
			}
			n := New(s)
			span, r, st, _ := runSpan(t, n, spanCase{name: "handle_payload", attrs: tt.attrs})
			assert.Equal(t, tt.want, span.Attributes().AsRaw())
			assert.Equal(t, tt.wantXRID, r.XRequestID)
			assert.Equal(t, tt.invalid, st.UnexpectedType)
		})
	}
}

func TestSpanNames(t *testing.T) {
	tests := []struct {
		name      string
		in        spanCase
		settings  func(*Settings)
		want      string
		drop      bool
		templated int64
		system    int64
	}{
		{name: "canonical stays", in: spanCase{name: "handle_payload"}, want: "handle_payload"},
		{name: "upper snake", in: spanCase{name: "HTTP_Request", attrs: map[string]any{"uri": "/v1/chat/completions"}}, want: "http-request"},
		{name: "dotted", in: spanCase{name: "http.request"}, want: "http-request"},
		{name: "kebab", in: spanCase{name: "Handle-Payload"}, want: "handle_payload"},
		{name: "router", in: spanCase{name: "KV_ROUTER.SELECT_WORKER"}, want: "kv_router.select_worker"},
		{name: "canonicalization off", in: spanCase{name: "Handle-Payload"}, settings: func(s *Settings) { s.Canonicalize = false }, want: "Handle-Payload"},
		{
			name: "health endpoint renamed", in: spanCase{name: "http-request", root: true, attrs: map[string]any{"uri": "/health", "method": "GET"}},
			want: dynamo.SystemSpanName, system: 1,
		},
		{
			name: "model list renamed from a variant spelling", in: spanCase{name: "HTTP_REQUEST", root: true, attrs: map[string]any{"uri": "/v1/models"}},
			want: dynamo.SystemSpanName, system: 1,
		},
		{
			name: "metrics renamed to a configured name", in: spanCase{name: "http-request", root: true, attrs: map[string]any{"uri": "/metrics"}},
			settings: func(s *Settings) { s.SystemSpanName = "system" }, want: "system", system: 1,
		},
		{
			name: "live dropped", in: spanCase{name: "http-request", root: true, attrs: map[string]any{"uri": "/live"}},
			settings: func(s *Settings) { s.System = SystemDrop }, drop: true, system: 1,
		},
		{
			name: "system endpoints kept", in: spanCase{name: "http-request", root: true, attrs: map[string]any{"uri": "/health"}},
			settings: func(s *Settings) { s.System = SystemKeep }, want: "http-request",
		},
		{name: "inference request not system", in: spanCase{name: "http-request", root: true, attrs: map[string]any{"uri": "/v1/chat/completions"}}, want: "http-request"},
		{name: "path templated", in: spanCase{name: "GET /v1/files/12345"}, want: "GET /v1/files/{id}", templated: 1},
		{name: "templating off", in: spanCase{name: "GET /v1/files/12345"}, settings: func(s *Settings) { s.Template = false }, want: "GET /v1/files/12345"},
		{
			name: "user rule runs first", in: spanCase{name: "my-custom/42"},
			settings: func(s *Settings) {
				s.Rules = []Rule{{Pattern: regexp.MustCompile(`^my-custom/.*$`), Replacement: "HTTP_Request"}}
			},
			want: "http-request",
		},
		{
			name: "user rules in order", in: spanCase{name: "a"},
			settings: func(s *Settings) {
				s.Rules = []Rule{
					{Pattern: regexp.MustCompile(`^a$`), Replacement: "b"},
					{Pattern: regexp.MustCompile(`^b$`), Replacement: "c-$0"},
				}
			},
			want: "c-b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Defaults()
			if tt.settings != nil {
				tt.settings(&s)
			}
			span, r, st, _ := runSpan(t, New(s), tt.in)
			assert.Equal(t, tt.drop, r.Drop)
			if !tt.drop {
				assert.Equal(t, tt.want, span.Name())
			}
			assert.Equal(t, tt.templated, st.Templated)
			assert.Equal(t, tt.system, st.SystemRenamed+st.SystemDropped)
		})
	}
}

func TestSpanNameLimitPerService(t *testing.T) {
	s := Defaults()
	s.MaxNamesPerSvc = 3
	s.OverflowSpanName = "other"
	n := New(s)
	var overflow int64
	names := map[string]int{}
	for i := 0; i < 10; i++ {
		span, _, st, _ := runSpan(t, n, spanCase{name: "op-" + strconv.Itoa(i), service: "svc-a"})
		names[span.Name()]++
		overflow += st.Overflow
		if span.Name() == "other" {
			v, ok := span.Attributes().Get(dynamo.OriginalSpanNameAttribute)
			require.True(t, ok)
			assert.Equal(t, "op-"+strconv.Itoa(i), v.Str())
		}
	}
	assert.Len(t, names, 4, "three admitted names plus the fallback")
	assert.Equal(t, 7, names["other"])
	assert.Equal(t, int64(7), overflow)

	// A name admitted before stays admitted; known names never count.
	span, _, _, _ := runSpan(t, n, spanCase{name: "op-1", service: "svc-a"})
	assert.Equal(t, "op-1", span.Name())
	span, _, _, _ = runSpan(t, n, spanCase{name: "handle_payload", service: "svc-a"})
	assert.Equal(t, "handle_payload", span.Name())
	// Another service has its own budget.
	span, _, _, _ = runSpan(t, n, spanCase{name: "op-9", service: "svc-b"})
	assert.Equal(t, "op-9", span.Name())
}

func TestHTTPSemantics(t *testing.T) {
	span, _, st, _ := runSpan(t, New(Defaults()), spanCase{
		name: "http-request", root: true,
		attrs: map[string]any{
			"method": "POST", "uri": "/v1/chat/completions?stream=true", "version": "HTTP/1.1",
			"x_request_id": "test-trace-001", "request_id": uuidNew,
		},
	})
	assert.Equal(t, ptrace.SpanKindServer, span.Kind())
	attrs := span.Attributes().AsRaw()
	assert.Equal(t, "POST", attrs[HTTPRequestMethodKey])
	assert.Equal(t, "/v1/chat/completions", attrs[URLPathKey])
	assert.Equal(t, "1.1", attrs[NetworkProtocolVersionKey])
	assert.Equal(t, "POST", attrs["method"], "Dynamo's own keys stay")
	assert.Equal(t, int64(1), st.Changed)

	// A child http-request (not a root) keeps its kind; a kind already set stays.
	child, _, _, _ := runSpan(t, New(Defaults()), spanCase{name: "http-request", attrs: map[string]any{"method": "GET"}})
	assert.Equal(t, ptrace.SpanKindUnspecified, child.Kind())
	client, _, _, _ := runSpan(t, New(Defaults()), spanCase{name: "http-request", root: true, kind: ptrace.SpanKindClient})
	assert.Equal(t, ptrace.SpanKindClient, client.Kind())

	assert.Equal(t, "2", protocolVersion("HTTP/2.0"))
	assert.Equal(t, "1.0", protocolVersion("http/1.0"))
	assert.Equal(t, "/x", uriPath("http://h:8000/x?y#z"))
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name    string
		attrs   map[string]any
		initial ptrace.StatusCode
		want    ptrace.StatusCode
		msg     string
	}{
		{"outcome error", map[string]any{"request.outcome": "error"}, ptrace.StatusCodeUnset, ptrace.StatusCodeError, "error"},
		{"outcome timeout", map[string]any{"request.outcome": "timeout"}, ptrace.StatusCodeUnset, ptrace.StatusCodeError, "timeout"},
		{"outcome success", map[string]any{"request.outcome": "success"}, ptrace.StatusCodeUnset, ptrace.StatusCodeUnset, ""},
		{"outcome cancelled", map[string]any{"request.outcome": "cancelled"}, ptrace.StatusCodeUnset, ptrace.StatusCodeUnset, ""},
		{"otel.status_code on a route span", map[string]any{"otel.status_code": "ERROR", "otel.status_description": "no worker"}, ptrace.StatusCodeUnset, ptrace.StatusCodeError, "no worker"},
		{"otel.status_code ok", map[string]any{"otel.status_code": "ok"}, ptrace.StatusCodeUnset, ptrace.StatusCodeUnset, ""},
		{"error.type", map[string]any{"error.type": "internal"}, ptrace.StatusCodeUnset, ptrace.StatusCodeError, "internal"},
		{"existing status kept", map[string]any{"error.type": "internal"}, ptrace.StatusCodeOk, ptrace.StatusCodeOk, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span, _, _, _ := runSpan(t, New(Defaults()), spanCase{name: "router.route_request", attrs: tt.attrs, status: tt.initial})
			assert.Equal(t, tt.want, span.Status().Code())
			assert.Equal(t, tt.msg, span.Status().Message())
		})
	}
}

func TestNumericFields(t *testing.T) {
	span, _, st, _ := runSpan(t, New(Defaults()), spanCase{
		name: "http-request",
		attrs: map[string]any{
			"input_tokens": "9", "output_tokens": "50", "ttft_ms": "5.85", "avg_itl_ms": "1",
			"instance_id": "2221573453717914121", "elapsed_ms": "556", "time.busy_us": int64(1843),
			"worker_id":     "18446744073709551615", // above int64: stays a string
			"dp_rank":       "n/a",
			"model":         "Qwen/Qwen3-0.6B",
			"cached_tokens": true,
		},
	})
	got := span.Attributes().AsRaw()
	assert.Equal(t, int64(9), got["input_tokens"])
	assert.Equal(t, int64(50), got["output_tokens"])
	assert.Equal(t, 5.85, got["ttft_ms"])
	assert.Equal(t, 1.0, got["avg_itl_ms"])
	assert.Equal(t, int64(2221573453717914121), got["instance_id"])
	assert.Equal(t, int64(556), got["elapsed_ms"])
	assert.Equal(t, int64(1843), got["time.busy_us"])
	assert.Equal(t, "18446744073709551615", got["worker_id"])
	assert.Equal(t, "n/a", got["dp_rank"])
	assert.Equal(t, "Qwen/Qwen3-0.6B", got["model"])
	assert.Equal(t, true, got["cached_tokens"])
	assert.Equal(t, int64(1), st.OutOfRange)
	assert.Equal(t, int64(1), st.NotANumber)
	assert.Equal(t, int64(1), st.UnexpectedType)

	s := Defaults()
	s.ExtraNumericFields = map[string]dynamo.NumberKind{"queue_depth": dynamo.Int}
	span, _, _, _ = runSpan(t, New(s), spanCase{name: "x", attrs: map[string]any{"queue_depth": "3"}})
	assert.Equal(t, int64(3), span.Attributes().AsRaw()["queue_depth"])

	s = Defaults()
	s.Numeric = false
	span, _, _, _ = runSpan(t, New(s), spanCase{name: "x", attrs: map[string]any{"input_tokens": "3"}})
	assert.Equal(t, "3", span.Attributes().AsRaw()["input_tokens"])
}

// The fast path for short decimal strings must read exactly what
// strconv.ParseInt reads, and refuse the rest: signs, spaces, more than 19
// digits, values above int64's range, anything that is not a digit.
func TestParseShortDecimalAgreesWithParseInt(t *testing.T) {
	for _, s := range []string{
		"0", "9", "007", "556", "123456789012345678", "999999999999999999",
		"", "-1", "+1", " 1", "1 ", "1_000", "0x10", "1e3", "1.5", "١",
		"1234567890123456789", "9223372036854775807", "9223372036854775808",
		"9999999999999999999", "09223372036854775807", "/", ":", "12a",
	} {
		checkShortDecimal(t, s)
	}
}

func FuzzParseShortDecimal(f *testing.F) {
	for _, s := range []string{"0", "42", "-7", "999999999999999999", "9223372036854775808", "1a"} {
		f.Add(s)
	}
	f.Fuzz(checkShortDecimal)
}

func checkShortDecimal(t *testing.T, s string) {
	got, ok := parseShortDecimal(s)
	want, err := strconv.ParseInt(s, 10, 64)
	if ok {
		if err != nil || got != want {
			t.Fatalf("parseShortDecimal(%q) = %d, ParseInt gives %d, %v", s, got, want, err)
		}
		return
	}
	if len(s) >= 1 && len(s) <= 19 && strings.Trim(s, "0123456789") == "" && err == nil {
		t.Fatalf("parseShortDecimal(%q) refused 1 to 19 digits within range", s)
	}
}

func TestResourceIdentity(t *testing.T) {
	tests := []struct {
		name      string
		service   string
		spanName  string
		attrs     map[string]any
		settings  func(*Settings)
		component string
		role      string
	}{
		{name: "frontend", service: "dynamo-frontend", component: "frontend"},
		{name: "aggregated worker", service: "dynamo-worker-vllm", component: "worker", role: "aggregated"},
		{name: "prefill worker", service: "dynamo-worker-vllm-prefill", component: "worker", role: "prefill"},
		{name: "bare decode", service: "decode", component: "worker", role: "decode"},
		{name: "default service, component field", service: "dynamo", attrs: map[string]any{"component": "prefill"}, component: "worker", role: "prefill"},
		{name: "default service, disagg_role", service: "dynamo", attrs: map[string]any{"disagg_role": "decode"}, component: "worker", role: "decode"},
		{name: "default service, nothing known", service: "dynamo"},
		{name: "caller-side span's component is not the emitter's", service: "dynamo", spanName: "client_request", attrs: map[string]any{"component": "prefill"}},
		{
			name: "user mapping overrides", service: "dynamo-frontend",
			settings: func(s *Settings) {
				s.ServiceMappings = []ServiceMapping{{Pattern: regexp.MustCompile(`^dynamo-frontend$`), Identity: dynamo.Identity{Component: "gateway"}}}
			},
			component: "gateway",
		},
		{name: "off", service: "dynamo-frontend", settings: func(s *Settings) { s.Components = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Defaults()
			if tt.settings != nil {
				tt.settings(&s)
			}
			spanName := tt.spanName
			if spanName == "" {
				spanName = "handle_payload"
			}
			_, _, _, res := runSpan(t, New(s), spanCase{name: spanName, service: tt.service, attrs: tt.attrs})
			got := res.Attributes().AsRaw()
			if tt.component == "" {
				assert.NotContains(t, got, "dynamo.component")
			} else {
				assert.Equal(t, tt.component, got["dynamo.component"])
			}
			if tt.role == "" {
				assert.NotContains(t, got, "dynamo.role")
			} else {
				assert.Equal(t, tt.role, got["dynamo.role"])
			}
		})
	}

	// A component already on the resource (set by another processor) is kept.
	td, span := newSpan(t, spanCase{name: "x", service: "dynamo-frontend"})
	res := td.ResourceSpans().At(0).Resource()
	res.Attributes().PutStr("dynamo.component", "custom")
	n := New(Defaults())
	var rs ResourceState
	n.BeginResource(&rs, res)
	n.Span(&rs, span, &Stats{})
	assert.False(t, n.EndResource(&rs, res))
	v, _ := res.Attributes().Get("dynamo.component")
	assert.Equal(t, "custom", v.Str())
}

// TestResourceKeysAgreeWithReference runs resources that already carry
// service.name, dynamo.component and dynamo.role, in every form (absent,
// empty, another type, twice, as OTLP may carry them), through BeginResource
// and EndResource, which read them in one pass, and through the reference
// normalizer, which reads them with Get: the results and the resources agree.
func TestResourceKeysAgreeWithReference(t *testing.T) {
	services := []string{``, `{"key":"service.name","value":{"stringValue":"dynamo-worker-vllm-prefill"}}`,
		`{"key":"service.name","value":{"stringValue":"dynamo"}}`, `{"key":"service.name","value":{"intValue":"3"}}`}
	components := []string{``, `{"key":"dynamo.component","value":{"stringValue":"custom"}}`,
		`{"key":"dynamo.component","value":{"stringValue":""}}`, `{"key":"dynamo.component","value":{"intValue":"1"}}`}
	roles := []string{``, `{"key":"dynamo.role","value":{"stringValue":"decode"}}`, `{"key":"dynamo.role","value":{"boolValue":true}}`}
	spanAttrs := []string{``, `{"key":"component","value":{"stringValue":"prefill"}}`}
	var cases [][]string
	for _, sv := range services {
		for _, c := range components {
			for _, r := range roles {
				cases = append(cases, []string{sv, c, r})
			}
		}
	}
	// Keys twice, in both orders of their forms.
	cases = append(cases,
		[]string{services[2], services[1], components[2], components[1]},
		[]string{services[3], services[1], components[1], components[2], roles[1], roles[2]},
		[]string{services[1], services[2], components[3], components[1], roles[2], roles[1]},
		[]string{roles[1], components[2], services[2], components[1]},
	)
	for i, keys := range cases {
		var nonEmpty []string
		for _, k := range keys {
			if k != "" {
				nonEmpty = append(nonEmpty, k)
			}
		}
		for _, sa := range spanAttrs {
			for _, components := range []bool{true, false} {
				js := `{"resourceSpans":[{"resource":{"attributes":[` + strings.Join(nonEmpty, ",") +
					`]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"handle_payload","attributes":[` + sa + `]}]}]}]}`
				td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(js))
				require.NoError(t, err, js)
				ref := ptrace.NewTraces()
				td.CopyTo(ref)
				settings := Defaults()
				settings.Components = components
				n, r := New(settings), newRef(settings)
				res, rres := td.ResourceSpans().At(0).Resource(), ref.ResourceSpans().At(0).Resource()
				var state ResourceState
				n.BeginResource(&state, res)
				rstate := r.BeginResource(rres)
				what := fmt.Sprintf("case %d (components %v): %s", i, components, js)
				require.Equal(t, rstate.Service, state.Service, what)
				var st, rst Stats
				n.Span(&state, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0), &st)
				r.Span(&rstate, ref.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0), &rst)
				require.Equal(t, r.EndResource(&rstate, rres), n.EndResource(&state, res), what)
				sameMap(t, what, rres.Attributes(), res.Attributes())
			}
		}
	}
}

func TestLogRecord(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "dynamo")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	// A mid-version JSONL line as a receiver that keeps every key as an attribute delivers it.
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"component": "prefill", "endpoint": "generate", "instance_id": "3866790875219207267",
		"namespace": "vllm-disagg", "parent_id": "5c20cc08e6afb2b7", "span_id": "1a2b3c4d5e6f7a8b",
		"span_name": "Handle-Payload", "trace_id": "b672ccf48683b392891c5cb4163d4b51",
		"x_dynamo_request_id": uuidMid, "x_request_id": "test-trace-001",
	}))
	n := New(Defaults())
	var st Stats
	var rs ResourceState
	n.BeginResource(&rs, rl.Resource())
	r := n.LogRecord(&rs, lr, &st)
	n.EndResource(&rs, rl.Resource())

	assert.Equal(t, "test-trace-001", r.XRequestID)
	got := lr.Attributes().AsRaw()
	assert.Equal(t, uuidMid, got["request_id"])
	assert.NotContains(t, got, "x_dynamo_request_id")
	assert.Equal(t, int64(3866790875219207267), got["instance_id"])
	assert.Equal(t, "handle_payload", got["span_name"])
	assert.Equal(t, "b672ccf48683b392891c5cb4163d4b51", lr.TraceID().String())
	assert.Equal(t, "1a2b3c4d5e6f7a8b", lr.SpanID().String())
	assert.Equal(t, int64(1), st.Changed)
	v, _ := rl.Resource().Attributes().Get("dynamo.role")
	assert.Equal(t, "prefill", v.Str())

	// Decimal fallback ids (no trace context) are not taken as a trace id.
	lr2 := rl.ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr2.Attributes().PutStr("trace_id", "12345")
	n.LogRecord(&rs, lr2, &st)
	assert.True(t, lr2.TraceID().IsEmpty())
}

func TestNoAllocationWhenNothingChanges(t *testing.T) {
	s := Defaults()
	n := New(s)
	td, span := newSpan(t, spanCase{name: "POST /v1/chat/completions", attrs: map[string]any{
		"x_request_id": "test-trace-001", "request_id": uuidNew, "model": "m", "input_tokens": int64(9),
		"component": "backend", "endpoint": "generate", "namespace": "dynamo",
	}})
	res := td.ResourceSpans().At(0).Resource()
	res.Attributes().PutStr("dynamo.component", "frontend")
	// Warm the limiter.
	var rs ResourceState
	n.BeginResource(&rs, res)
	n.Span(&rs, span, &Stats{})
	allocs := testing.AllocsPerRun(200, func() {
		var st Stats
		var rs ResourceState
		n.BeginResource(&rs, res)
		n.Span(&rs, span, &st)
		n.EndResource(&rs, res)
	})
	assert.Zero(t, allocs)
}

func TestUserRuleLiteralPreCheck(t *testing.T) {
	s := Defaults()
	s.Rules = []Rule{{Pattern: regexp.MustCompile(`^GET /internal/(.*)$`), Replacement: "GET /internal"}}
	n := New(s)
	assert.Equal(t, "GET /internal/", n.rules[0].literal)
	span, _, _, _ := runSpan(t, n, spanCase{name: "GET /internal/abc"})
	assert.Equal(t, "GET /internal", span.Name())
	span, _, _, _ = runSpan(t, n, spanCase{name: "GET /public/abc"})
	assert.Equal(t, "GET /public/abc", span.Name())
}

// heapBytes is the heap f allocates (run once; nothing else runs).
func heapBytes(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// The HTTP rule and the resource's identity grow an attribute array once,
// by exactly what they add: appending one by one to a full array doubles
// it, and the spare half lives as long as the item.
func TestAddedAttributesGrowTheArrayOnce(t *testing.T) {
	// The size of one attribute in the array, from a large array.
	kv := heapBytes(func() { pcommon.NewMap().EnsureCapacity(1024) }) / 1024
	require.NotZero(t, kv)
	// The same root span, twice.
	spare := func() (ptrace.Traces, ptrace.Span) {
		return newSpan(t, spanCase{name: "http-request", root: true, attrs: map[string]any{
			"method": "POST", "uri": "/v1/chat/completions?stream=true", "version": "HTTP/1.1",
			"x_request_id": "test-trace-001", "model": "m", "component": "frontend", "endpoint": "http",
		}})
	}
	td, span := spare()
	td2, span2 := spare()
	res, res2 := td.ResourceSpans().At(0).Resource(), td2.ResourceSpans().At(0).Resource()
	spanLen, resLen := span.Attributes().Len(), res.Attributes().Len()
	// Room for everything in the second copy: its arrays do not grow.
	span2.Attributes().EnsureCapacity(spanLen + 3)
	res2.Attributes().EnsureCapacity(resLen + 1)
	n := New(Defaults())
	normalize := func(res pcommon.Resource, span ptrace.Span) {
		var rs ResourceState
		n.BeginResource(&rs, res)
		n.Span(&rs, span, &Stats{})
		n.EndResource(&rs, res)
	}
	// Warm the normalizer on a third copy.
	td3, span3 := spare()
	normalize(td3.ResourceSpans().At(0).Resource(), span3)

	grown := heapBytes(func() { normalize(res, span) })
	roomy := heapBytes(func() { normalize(res2, span2) })
	require.Equal(t, spanLen+3, span.Attributes().Len(), "the HTTP rule adds three attributes")
	require.Equal(t, resLen+1, res.Attributes().Len(), "dynamo.component is added")
	assert.Equal(t, span.Attributes().AsRaw(), span2.Attributes().AsRaw())
	// Growing by exactly what is added: the two new arrays, rounded up to
	// the allocator's size classes (at most 1/8 more).
	exact := uint64(spanLen+3+resLen+1) * kv
	assert.LessOrEqual(t, grown-roomy, exact+exact/8, "grown %d, with room %d, exact arrays %d", grown, roomy, exact)
}
