package telemetrygen

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	hex16      = regexp.MustCompile(`^[0-9a-f]{16}$`)
	hex32      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidRe     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	jsonlTime  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	dynamoSpan = map[string]bool{
		"http-request": true, "prefill_routing": true, "kv_router.select_worker": true,
		"kv_router.route_request": true, "router.route_request": true, "client_request": true,
		"handle_payload": true, "engine.generate": true,
	}
)

func attr(s *Span, key string) (any, bool) {
	for _, kv := range s.Attrs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

func field(l *JSONLLine, key string) (any, bool) {
	for _, kv := range l.Fields {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

func oneRequest(t *testing.T, v Version, topo Topology, opts Options) *Request {
	t.Helper()
	opts.Versions = []Version{v}
	opts.Topologies = []Topology{topo}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	r := NewGenerator(opts).Next(time.Date(2026, 7, 30, 18, 4, 11, 482913000, time.UTC))
	require.Equal(t, v, r.Version)
	require.Equal(t, topo, r.Topology)
	return r
}

func spanNames(r *Request) []string {
	var names []string
	for i := range r.Spans {
		names = append(names, r.Spans[i].Name)
	}
	return names
}

func TestSpanTreePerTopologyAndVersion(t *testing.T) {
	for _, v := range Versions {
		for _, topo := range Topologies {
			t.Run(string(v)+"/"+string(topo), func(t *testing.T) {
				r := oneRequest(t, v, topo, Options{})
				root := r.Root()
				assert.Equal(t, "http-request", root.Name)
				assert.True(t, root.ParentID.IsEmpty(), "the root has no parent")
				assert.Equal(t, ptrace.SpanKindInternal, root.Kind, "Dynamo sets no kind on http-request")
				assert.Equal(t, v.ServiceName(RoleFrontend), root.Service)

				names := spanNames(r)
				workers := 1
				if topo == TopologyDisaggregated {
					workers = 2
					assert.Contains(t, names, "prefill_routing")
					assert.Contains(t, names, "kv_router.select_worker")
				}
				count := func(name string) int {
					n := 0
					for _, s := range names {
						if s == name {
							n++
						}
					}
					return n
				}
				assert.Equal(t, workers, count("client_request"))
				assert.Equal(t, workers, count("handle_payload"))
				assert.Equal(t, workers, count("engine.generate"))
				if v == VersionOld {
					assert.Zero(t, count("llm_request"), "the old version has no vLLM tracer")
				} else {
					assert.Equal(t, workers, count("llm_request"))
				}

				byID := map[pcommon.SpanID]*Span{}
				for i := range r.Spans {
					byID[r.Spans[i].SpanID] = &r.Spans[i]
				}
				require.Len(t, byID, len(r.Spans), "span ids are unique")
				for i := range r.Spans[:len(r.Spans)-1] {
					s := &r.Spans[i]
					p, ok := byID[s.ParentID]
					require.True(t, ok, "%s has a parent in the request", s.Name)
					assert.False(t, s.Start.Before(p.Start), "%s starts inside %s", s.Name, p.Name)
					assert.False(t, s.End.After(p.End), "%s ends inside %s", s.Name, p.Name)
					assert.True(t, s.End.After(s.Start), "%s has a duration", s.Name)
				}
			})
		}
	}
}

func TestServiceNamesPerVersion(t *testing.T) {
	want := map[Version][]string{
		VersionOld: {"frontend", "prefill", "decode", "dynamo"},
		VersionMid: {"dynamo-frontend", "dynamo-worker-vllm-prefill", "dynamo-worker-vllm-decode", "dynamo-worker-vllm"},
		VersionNew: {"dynamo-frontend", "dynamo-worker-prefill", "dynamo-worker-decode", "dynamo-worker-vllm"},
	}
	for v, names := range want {
		got := []string{v.ServiceName(RoleFrontend), v.ServiceName(RolePrefill), v.ServiceName(RoleDecode), v.ServiceName(RoleAggregated)}
		assert.Equal(t, names, got, v)
	}
	r := oneRequest(t, VersionNew, TopologyDisaggregated, Options{})
	services := map[string]bool{}
	for i := range r.Spans {
		services[r.Spans[i].Service] = true
	}
	assert.Equal(t, map[string]bool{"dynamo-frontend": true, "dynamo-worker-prefill": true, "dynamo-worker-decode": true}, services)
}

// TestRequestIDsPerVersion checks where each version puts the caller's
// x_request_id and Dynamo's own id.
func TestRequestIDsPerVersion(t *testing.T) {
	for _, v := range Versions {
		for _, topo := range Topologies {
			t.Run(string(v)+"/"+string(topo), func(t *testing.T) {
				r := oneRequest(t, v, topo, Options{})
				require.NotEmpty(t, r.XRequestID)
				for i := range r.Spans {
					s := &r.Spans[i]
					x, has := attr(s, "x_request_id")
					var want bool
					switch {
					case s.VLLM:
						want = false
					case s.Name == "http-request":
						want = true
					case v == VersionOld:
						want = false
					case v == VersionMid:
						want = s.Name != "engine.generate"
					default:
						want = true
					}
					assert.Equal(t, want, has, "%s %s carries x_request_id", v, s.Name)
					if has {
						assert.Equal(t, r.XRequestID, x)
					}
					if !s.VLLM {
						for _, kv := range s.Attrs {
							assert.IsType(t, "", kv.Value, "%s.%s: Dynamo writes span fields as strings", s.Name, kv.Key)
						}
					} else {
						v, ok := attr(s, "gen_ai.usage.prompt_tokens")
						assert.True(t, ok)
						assert.IsType(t, int64(0), v, "vLLM's tracer keeps numbers")
					}
				}

				root := r.Root()
				mid, hasMid := attr(root, "x_dynamo_request_id")
				newID, hasNew := attr(root, "request_id")
				switch v {
				case VersionOld:
					assert.Empty(t, r.DynamoRequestID)
					assert.False(t, hasMid)
					assert.False(t, hasNew)
				case VersionMid:
					assert.Regexp(t, uuidRe, r.DynamoRequestID)
					assert.Equal(t, r.DynamoRequestID, mid)
					assert.False(t, hasNew)
				case VersionNew:
					assert.Regexp(t, uuidRe, r.DynamoRequestID)
					assert.Equal(t, r.DynamoRequestID, newID)
					assert.False(t, hasMid)
					_, ok := attr(root, "request.outcome")
					assert.True(t, ok)
				}
				for i := range r.Spans {
					s := &r.Spans[i]
					if s.Name == "client_request" {
						ctxID, ok := attr(s, "request_id")
						require.True(t, ok)
						assert.NotEqual(t, r.DynamoRequestID, ctxID, "client_request's request_id is the internal context id")
						_, hasMidID := attr(s, "x_dynamo_request_id")
						assert.Equal(t, v == VersionMid, hasMidID)
					}
					if s.Name == "handle_payload" {
						wantKind := ptrace.SpanKindInternal
						if v == VersionNew {
							wantKind = ptrace.SpanKindServer
						}
						assert.Equal(t, wantKind, s.Kind)
					}
				}
			})
		}
	}
}

func TestAliasSpellings(t *testing.T) {
	g := NewGenerator(Options{Seed: 21, AliasShare: 1, Versions: []Version{VersionOld}})
	seen := map[string]bool{}
	for range 20 {
		r := g.Next(time.Now())
		root := r.Root()
		require.Contains(t, AliasKeys, r.XRequestIDKey)
		seen[r.XRequestIDKey] = true
		_, has := attr(root, "x_request_id")
		assert.False(t, has, "the root carries the id only under its alias")
		v, ok := attr(root, r.XRequestIDKey)
		require.True(t, ok)
		if r.XRequestIDKey == "http.request.header.x-request-id" {
			assert.Equal(t, []string{r.XRequestID}, v, "the semantic-convention form is a list")
		} else {
			assert.Equal(t, r.XRequestID, v)
		}
		for i := range r.JSONL {
			if r.JSONL[i].Service == root.Service {
				x, ok := field(&r.JSONL[i], "x_request_id")
				assert.True(t, ok, "Dynamo's own lines keep x_request_id")
				assert.Equal(t, r.XRequestID, x)
			}
		}
		assert.Equal(t, r.XRequestIDKey, recordOf(r).XRequestIDKey)
	}
	assert.Len(t, seen, len(AliasKeys))

	r := NewGenerator(Options{Seed: 21}).Next(time.Now())
	assert.Equal(t, XRequestIDKey, r.XRequestIDKey)
	assert.Empty(t, recordOf(r).XRequestIDKey, "the manifest names only aliases")
}

func TestSystemRequests(t *testing.T) {
	g := NewGenerator(Options{Seed: 7, SystemShare: 1, LogsPerRequest: 3})
	for i := 0; i < 20; i++ {
		r := g.Next(time.Now())
		require.True(t, r.System)
		require.Len(t, r.Spans, 1)
		s := r.Root()
		assert.Equal(t, "http-request", s.Name)
		uri, _ := attr(s, "uri")
		assert.Contains(t, systemURIs, uri)
		_, has := attr(s, "x_request_id")
		assert.False(t, has, "probes send no x-request-id")
		assert.Empty(t, r.XRequestID)
		assert.Empty(t, r.Logs)
		assert.Empty(t, r.JSONL)
	}
}

func TestSharesAndSeed(t *testing.T) {
	gen := func(seed uint64) []*Request {
		g := NewGenerator(Options{Seed: seed, SystemShare: 0.2, FailureShare: 0.1})
		var out []*Request
		for i := 0; i < 2000; i++ {
			out = append(out, g.Next(time.Unix(1700000000, 0)))
		}
		return out
	}
	a, b, c := gen(1), gen(1), gen(2)
	system, failed := 0, 0
	versions := map[Version]int{}
	for i := range a {
		assert.Equal(t, a[i].TraceID, b[i].TraceID, "same seed, same trace ids")
		assert.Equal(t, a[i].XRequestID, b[i].XRequestID)
		if a[i].System {
			system++
		}
		if a[i].Failed {
			failed++
			assert.False(t, a[i].System)
		}
		versions[a[i].Version]++
	}
	assert.NotEqual(t, a[0].TraceID, c[0].TraceID)
	assert.NotEqual(t, NewGenerator(Options{Seed: 1}).Options().RequestIDPrefix, NewGenerator(Options{Seed: 2}).Options().RequestIDPrefix,
		"seeds give distinct id prefixes")
	assert.InDelta(t, 400, system, 80)
	assert.InDelta(t, 160, failed, 50)
	for _, v := range Versions {
		assert.InDelta(t, 667, versions[v], 120, v)
	}
}

func TestFailedRequests(t *testing.T) {
	for _, v := range Versions {
		r := oneRequest(t, v, TopologyDisaggregated, Options{FailureShare: 1})
		require.True(t, r.Failed)
		root := r.Root()
		if v == VersionNew {
			outcome, _ := attr(root, "request.outcome")
			assert.Equal(t, "error", outcome)
			assert.False(t, root.Error, "the new version records the outcome; the status is left to the collector")
		} else {
			assert.True(t, root.Error)
		}
		last := r.JSONL[len(r.JSONL)-1]
		assert.Equal(t, "ERROR", last.Level)
		detail, _ := field(&last, "error_detail")
		assert.Contains(t, detail, "\n", "error chains span lines")
		kv, ok := field(&last, "kv_transfer_params")
		require.True(t, ok)
		assert.IsType(t, map[string]any{}, kv, "a JSON-valued field is a nested object")
	}
}

// jsonKeys returns the keys of a JSON object in the order they appear.
func jsonKeys(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestJSONLShapes(t *testing.T) {
	for _, v := range Versions {
		for _, topo := range Topologies {
			t.Run(string(v)+"/"+string(topo), func(t *testing.T) {
				r := oneRequest(t, v, topo, Options{SpanEvents: true})
				require.NotEmpty(t, r.JSONL)
				opened := 0
				closed := 0
				for i := range r.JSONL {
					l := &r.JSONL[i]
					b := AppendJSONL(nil, l)
					var m map[string]any
					require.NoError(t, json.Unmarshal(b, &m), "%s", b)
					keys := jsonKeys(t, b)
					require.Equal(t, []string{"time", "level", "file", "line", "target", "message"}, keys[:6], "%s", b)
					assert.True(t, slices.IsSorted(keys[6:]), "other keys in alphabetical order: %v", keys[6:])
					assert.Regexp(t, jsonlTime, m["time"])
					assert.Regexp(t, hex32, m["trace_id"])
					assert.Equal(t, r.TraceID.String(), m["trace_id"])
					assert.Regexp(t, hex16, m["span_id"])
					if v == VersionMid {
						assert.Regexp(t, `^/opt/dynamo/`, m["file"])
					} else {
						assert.Regexp(t, `^lib/`, m["file"])
					}
					_, hasFlags := m["trace_flags"]
					assert.Equal(t, v == VersionNew, hasFlags)
					// Span fields are strings; only span timings and event fields keep types.
					for k, val := range m {
						switch k {
						case "line", "time.busy_us", "time.idle_us", "time.duration_us", "kv_transfer_params":
						default:
							assert.IsType(t, "", val, "%s in %s", k, b)
						}
					}
					if _, ok := m["x_request_id"]; ok {
						assert.Equal(t, r.XRequestID, m["x_request_id"])
					} else {
						// Lines inside a span the version leaves without x_request_id.
						assert.True(t, v == VersionOld || (v == VersionMid && m["span_name"] == "engine.generate"),
							"%s leaves x_request_id off this line: %s", v, b)
						assert.NotEqual(t, "http-request", m["span_name"])
					}
					switch m["message"] {
					case "SPAN_CREATED", "SPAN_FIRST_ENTRY":
						assert.Equal(t, v.spanOpened(), m["message"])
						assert.Equal(t, "request_span", m["target"])
						opened++
					case "SPAN_CLOSED":
						assert.IsType(t, float64(0), m["time.duration_us"])
						assert.IsType(t, float64(0), m["time.busy_us"])
						closed++
					}
				}
				dynamoSpans := 0
				for i := range r.Spans {
					if dynamoSpan[r.Spans[i].Name] {
						dynamoSpans++
					}
				}
				assert.Equal(t, dynamoSpans, opened)
				assert.Equal(t, dynamoSpans, closed)
			})
		}
	}
}

func TestJSONLMatchesDocumentedSample(t *testing.T) {
	// The first sample line of the shared doc, rebuilt field by field.
	l := JSONLLine{
		Time: time.Date(2026, 7, 30, 18, 4, 11, 482913000, time.UTC), Level: "INFO",
		File: "lib/llm/src/http/service/metrics.rs", Line: 1042, Target: "dynamo_llm::http::service::metrics",
		Message: "request received",
		Fields: []KV{
			{"x_request_id", "test-trace-001"}, {"uri", "/v1/chat/completions"}, {"version", "HTTP/1.1"},
			{"endpoint", "chat_completions"}, {"method", "POST"}, {"model", "Qwen/Qwen3-0.6B"},
			{"request_id", "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44"}, {"request_type", "stream"},
			{"span_id", "f7e487a9d2a6bf38"}, {"span_name", "http-request"}, {"trace_flags", "01"},
			{"trace_id", "80196f3e3a6fdf06d23bb9ada3788518"},
		},
	}
	want := `{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","file":"lib/llm/src/http/service/metrics.rs","line":1042,"target":"dynamo_llm::http::service::metrics","message":"request received","endpoint":"chat_completions","method":"POST","model":"Qwen/Qwen3-0.6B","request_id":"6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44","request_type":"stream","span_id":"f7e487a9d2a6bf38","span_name":"http-request","trace_flags":"01","trace_id":"80196f3e3a6fdf06d23bb9ada3788518","uri":"/v1/chat/completions","version":"HTTP/1.1","x_request_id":"test-trace-001"}`
	assert.Equal(t, want, string(AppendJSONL(nil, &l)))

	py := JSONLLine{Time: l.Time, Level: "INFO", Target: "log", Message: "a <b> & c", Fields: []KV{{"log.line", int64(191)}}}
	assert.Equal(t, `{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","target":"log","message":"a <b> & c","log.line":191}`,
		string(AppendJSONL(nil, &py)), "Python lines have no file/line; nothing is HTML-escaped")
}

func TestJSONLLocalTimeZone(t *testing.T) {
	r := oneRequest(t, VersionNew, TopologyAggregated, Options{JSONLZone: time.FixedZone("CEST", 2*3600)})
	for i := range r.JSONL {
		b := AppendJSONL(nil, &r.JSONL[i])
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+02:00$`, m["time"])
		ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
		require.NoError(t, err)
		assert.True(t, ts.Equal(r.JSONL[i].Time), "the same instant as in UTC")
	}
}

func TestOTLPLogRecords(t *testing.T) {
	for _, v := range Versions {
		r := oneRequest(t, v, TopologyDisaggregated, Options{LogsPerRequest: 7})
		if v != VersionNew {
			assert.Empty(t, r.Logs, "%s exports no OTLP logs", v)
			continue
		}
		require.Len(t, r.Logs, 7)
		spans := map[pcommon.SpanID]*Span{}
		for i := range r.Spans {
			spans[r.Spans[i].SpanID] = &r.Spans[i]
		}
		seen := map[time.Time]bool{}
		for _, l := range r.Logs {
			s, ok := spans[l.SpanID]
			require.True(t, ok, "log record %q points at a span of its request", l.Message)
			assert.Equal(t, s.Service, l.Service)
			assert.False(t, l.Time.Before(s.Start) || l.Time.After(s.End.Add(10*time.Microsecond)), "inside its span")
			assert.False(t, seen[l.Time])
			seen[l.Time] = true
			for _, kv := range l.Attrs {
				assert.NotContains(t, []string{"x_request_id", "span_name", "trace_id", "span_id", "request_id"}, kv.Key,
					"OTLP log records carry only the event's own fields")
			}
		}
	}
}

func TestOTLPBuilders(t *testing.T) {
	g := NewGenerator(Options{Seed: 3, Versions: []Version{VersionNew}, Topologies: []Topology{TopologyDisaggregated}, LogsPerRequest: 4})
	reqs := []*Request{g.Next(time.Now()), g.Next(time.Now())}
	children, roots := NewTracesBuilder(), NewTracesBuilder()
	for _, r := range reqs {
		children.Add(r, ChildSpans)
		roots.Add(r, RootSpans)
	}
	assert.Equal(t, 2*(len(reqs[0].Spans)-1), children.Len())
	assert.Equal(t, 2, roots.Len())
	assert.Equal(t, children.Len(), children.Traces().SpanCount())

	// One resource per service, plus one per vLLM tracer with telemetry.sdk.*.
	td := children.Traces()
	type res struct {
		service string
		sdk     bool
	}
	got := map[res]int{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		_, sdk := rs.Resource().Attributes().Get("telemetry.sdk.language")
		if !sdk {
			assert.Equal(t, 1, rs.Resource().Attributes().Len(), "the Rust SDK sends only service.name")
		}
		got[res{svc.Str(), sdk}] += rs.ScopeSpans().At(0).Spans().Len()
	}
	assert.Equal(t, map[res]int{
		{"dynamo-frontend", false}: 2 * 5, {"dynamo-worker-prefill", false}: 2 * 2, {"dynamo-worker-decode", false}: 2 * 2,
		{"dynamo-worker-prefill", true}: 2, {"dynamo-worker-decode", true}: 2,
	}, got)

	rootSpan := roots.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, "http-request", rootSpan.Name())
	assert.Equal(t, reqs[0].TraceID, rootSpan.TraceID())
	x, ok := rootSpan.Attributes().Get("x_request_id")
	require.True(t, ok)
	assert.Equal(t, reqs[0].XRequestID, x.Str())

	lb := NewLogsBuilder()
	for _, r := range reqs {
		lb.Add(r)
	}
	assert.Equal(t, 8, lb.Logs().LogRecordCount())
	lr := lb.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, reqs[0].TraceID, lr.TraceID())
	assert.False(t, lr.SpanID().IsEmpty())
	_, hasX := lr.Attributes().Get("x_request_id")
	assert.False(t, hasX)
}

func TestNoJSONLKeepsSpansAndLogs(t *testing.T) {
	opts := Options{Seed: 21, LogsPerRequest: 3, SpanEvents: true, SystemShare: 0.1, FailureShare: 0.1}
	with, without := NewGenerator(opts), NewGenerator(opts)
	without.noJSONL = true
	now := time.Now()
	lines := 0
	for range 200 {
		a, b := with.Next(now), without.Next(now)
		lines += len(a.JSONL)
		assert.Empty(t, b.JSONL)
		assert.Equal(t, a.Spans, b.Spans)
		assert.Equal(t, a.Logs, b.Logs)
		assert.Equal(t, a.XRequestID, b.XRequestID)
	}
	assert.Positive(t, lines)
}
