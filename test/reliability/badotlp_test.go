package reliability

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testbackend"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// rawCodec sends a []byte as the gRPC request body as it is, so a test can put
// malformed protobuf on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], data...)
	}
	return nil
}

func (rawCodec) Name() string { return "proto" }

// spanWithTraceID is an ExportTraceServiceRequest, hand-encoded, holding one
// span whose trace_id field has the given bytes (the pdata builders cannot
// produce a trace id of the wrong length).
func spanWithTraceID(tid []byte) []byte {
	var span []byte
	span = protowire.AppendTag(span, 1, protowire.BytesType) // trace_id
	span = protowire.AppendBytes(span, tid)
	span = protowire.AppendTag(span, 2, protowire.BytesType) // span_id
	span = protowire.AppendBytes(span, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	span = protowire.AppendTag(span, 5, protowire.BytesType) // name
	span = protowire.AppendString(span, "http-request")
	var scope []byte
	scope = protowire.AppendTag(scope, 2, protowire.BytesType) // ScopeSpans.spans
	scope = protowire.AppendBytes(scope, span)
	var rs []byte
	rs = protowire.AppendTag(rs, 2, protowire.BytesType) // ResourceSpans.scope_spans
	rs = protowire.AppendBytes(rs, scope)
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType) // resource_spans
	req = protowire.AppendBytes(req, rs)
	return req
}

// nestedLogs is an ExportLogsServiceRequest, hand-encoded, with one log
// record whose body is a key-value list nested depth levels deep.
func nestedLogs(depth int) []byte {
	sizes := make([]int, depth+1) // sizes[i]: bytes of the AnyValue at level i
	for i := 1; i <= depth; i++ {
		inner := sizes[i-1]
		kv := 1 + protowire.SizeVarint(uint64(inner)) + inner
		kvl := 1 + protowire.SizeVarint(uint64(kv)) + kv
		sizes[i] = 1 + protowire.SizeVarint(uint64(kvl)) + kvl
	}
	body := make([]byte, 0, sizes[depth])
	for i := depth; i >= 1; i-- {
		inner := sizes[i-1]
		kv := 1 + protowire.SizeVarint(uint64(inner)) + inner
		kvl := 1 + protowire.SizeVarint(uint64(kv)) + kv
		body = protowire.AppendTag(body, 6, protowire.BytesType) // AnyValue.kvlist_value
		body = protowire.AppendVarint(body, uint64(kvl))
		body = protowire.AppendTag(body, 1, protowire.BytesType) // KeyValueList.values
		body = protowire.AppendVarint(body, uint64(kv))
		body = protowire.AppendTag(body, 2, protowire.BytesType) // KeyValue.value
		body = protowire.AppendVarint(body, uint64(inner))
	}
	wrap := func(field protowire.Number, inner []byte) []byte {
		b := protowire.AppendTag(nil, field, protowire.BytesType)
		return protowire.AppendBytes(b, inner)
	}
	// LogRecord.body, ScopeLogs.log_records, ResourceLogs.scope_logs,
	// ExportLogsServiceRequest.resource_logs.
	return wrap(1, wrap(2, wrap(2, wrap(5, body))))
}

// everyValueType puts a value of every OTLP attribute type under key.
func everyValueType(m pcommon.Map, key string, variant int) {
	switch variant % 8 {
	case 0:
		m.PutInt(key, -42)
	case 1:
		m.PutBool(key, true)
	case 2:
		m.PutDouble(key, 3.5e300)
	case 3:
		m.PutEmptyBytes(key).FromRaw([]byte{0, 0xff, 0xfe})
	case 4:
		s := m.PutEmptySlice(key)
		s.AppendEmpty().SetStr("a")
		s.AppendEmpty().SetInt(1)
		s.AppendEmpty().SetEmptyMap().PutStr("x", "y")
	case 5:
		mm := m.PutEmptyMap(key)
		mm.PutStr("nested", "v")
		mm.PutEmptyMap("deeper").PutEmptySlice("list")
	case 6:
		m.PutEmpty(key)
	case 7:
		m.PutStr(key, "\xff\xfe invalid utf-8 \x00 nul {{ }} %s")
	}
}

// hostileTraces is a batch whose attributes hold every value type under the
// keys the dynamo processor reads as strings (request ids, uri, component,
// status fields, numeric span fields), and whose names and service names are
// odd.
func hostileTraces(service string) (ptrace.Traces, int) {
	keys := []string{
		"x_request_id", "x-request-id", "http.request.header.x-request-id", "x_dynamo_request_id",
		"request_id", "gen_ai.request.id", "uri", "method", "component", "endpoint", "namespace",
		"instance_id", "otel.kind", "otel.status_code", "request.outcome", "error.type", "disagg_role",
		"input_tokens", "output_tokens", "ttft_ms", "avg_itl_ms", "worker_id", "dp_rank", "phase",
		"service.name", "span_name",
	}
	names := []string{"http-request", "handle_payload", "", "GET /v1/models/{id}", strings.Repeat("x", 5000),
		"\xff\xfe", "kv_router.select_worker", "request 6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", "%s%d{{.}}"}
	td := ptrace.NewTraces()
	n := 0
	for v := 0; v < 8; v++ {
		rs := td.ResourceSpans().AppendEmpty()
		if v == 0 {
			rs.Resource().Attributes().PutStr("service.name", service)
		} else {
			// The service name itself of every type, but keep one resource
			// findable in the trace store.
			rs.Resource().Attributes().PutStr("service.name", service)
			everyValueType(rs.Resource().Attributes(), "service.namespace", v)
		}
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i, name := range names {
			sp := spans.AppendEmpty()
			sp.SetName(name)
			sp.SetTraceID(pcommon.TraceID{byte(v + 1), byte(i + 1), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			sp.SetSpanID(pcommon.SpanID{byte(v + 1), byte(i + 1), 3, 4, 5, 6, 7, 8})
			if i%2 == 1 {
				sp.SetParentSpanID(pcommon.SpanID{byte(v + 1), 1, 3, 4, 5, 6, 7, 8})
			}
			sp.SetKind(ptrace.SpanKind(i % 6))
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			for k, key := range keys {
				everyValueType(sp.Attributes(), key, v+k+i)
			}
			ev := sp.Events().AppendEmpty()
			ev.SetName("SPAN_CLOSED")
			everyValueType(ev.Attributes(), "x_request_id", v+i)
			n++
		}
	}
	return td, n
}

func hostileLogs(service string) (plog.Logs, int) {
	ld := plog.NewLogs()
	n := 0
	for v := 0; v < 8; v++ {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		recs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 8; i++ {
			lr := recs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			everyValueType(lr.Attributes(), "x_request_id", v+i)
			everyValueType(lr.Attributes(), "request_id", v+i+1)
			everyValueType(lr.Attributes(), "x_dynamo_request_id", v+i+2)
			everyValueType(lr.Attributes(), "span_name", v+i+3)
			everyValueType(lr.Attributes(), "uri", v+i+4)
			lr.Attributes().PutStr("run", service)
			lr.Attributes().PutStr("seq", fmt.Sprintf("%d-%d", v, i))
			switch i % 3 {
			case 0:
				lr.Body().SetEmptyMap().PutStr("message", "a map body")
			case 1:
				lr.Body().SetEmptyBytes().FromRaw([]byte{0, 1, 2})
			default:
				lr.Body().SetStr("request received")
			}
			if i == 4 {
				lr.SetTraceID(pcommon.TraceID{}) // explicitly empty
			} else {
				lr.SetTraceID(pcommon.TraceID{byte(v + 1), byte(i + 1), 3})
			}
			n++
		}
	}
	return ld, n
}

// withDynamoProcessor returns an overlay that adds the dynamo processor to the
// gateway's pipelines when the binary contains it and the gateway does not
// run it yet, so that hostile attributes go through it.
func withDynamoProcessor(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command(testutil.CollectorBinary(t), "components").CombinedOutput()
	require.NoError(t, err, "%s", out)
	if !strings.Contains(string(out), "\n    - name: dynamo\n") {
		t.Log("the dynamo processor is not in this build; hostile attributes go through the gateway's pipeline as it is")
		return nil
	}
	gw, err := readFile(filepath.Join(testutil.RepoRoot(t), "configs", "otelcol-dynamo.yaml"))
	require.NoError(t, err)
	if strings.Contains(gw, "dynamo") && strings.Contains(gw, "processors: [memory_limiter, dynamo") {
		return nil
	}
	p := filepath.Join(t.TempDir(), "dynamo.overlay.yaml")
	require.NoError(t, writeFile(p, `
processors:
  dynamo: {}
service:
  pipelines:
    traces:
      processors: [memory_limiter, dynamo, batch]
    logs:
      processors: [memory_limiter, dynamo, batch]
`))
	return []string{p}
}

// TestOTLPBadInput sends malformed, oversized and hostile OTLP to the gateway
// over HTTP and gRPC: every malformed request gets a client error (never a
// retryable one, so clients do not loop on it), well-formed data with odd
// attribute types is accepted and stored, and the collector keeps running.
func TestOTLPBadInput(t *testing.T) {
	jaeger := testbackend.StartJaeger(t)
	vlogs := testbackend.StartVictoriaLogs(t)
	gw := newGateway(t, jaeger.OTLPGRPC, vlogs.OTLPLogsEndpoint(), withDynamoProcessor(t))
	gw.start()
	// Malformed input goes to a second gateway whose stores are unreachable:
	// whatever of it a receiver accepts must not reach (and wedge) the real
	// stores the hostile-attribute check below counts in.
	bad := newGateway(t, testutil.FreeAddr(t), "http://"+testutil.FreeAddr(t)+"/otlp", nil)
	bad.start()

	httpClient := &http.Client{Timeout: 30 * time.Second}
	postTo := func(g *gateway, path, contentType string, body []byte, hdr ...string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+g.HTTP+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return resp.StatusCode, string(b)
	}
	post := func(path, contentType string, body []byte, hdr ...string) (int, string) {
		return postTo(bad, path, contentType, body, hdr...)
	}
	gzipped := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return buf.Bytes()
	}
	const pb, js = "application/x-protobuf", "application/json"
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*131 + 7)
	}

	t.Run("http", func(t *testing.T) {
		cases := []struct {
			name, path, ctype string
			body              []byte
			hdr               []string
			want              int
		}{
			{"garbage protobuf", "/v1/traces", pb, garbage, nil, http.StatusBadRequest},
			{"truncated protobuf", "/v1/traces", pb, spanWithTraceID(make([]byte, 16))[:20], nil, http.StatusBadRequest},
			{"trace id of 5 bytes", "/v1/traces", pb, spanWithTraceID([]byte{1, 2, 3, 4, 5}), nil, http.StatusBadRequest},
			{"trace id of 17 bytes", "/v1/traces", pb, spanWithTraceID(make([]byte, 17)), nil, http.StatusBadRequest},
			{"truncated JSON", "/v1/traces", js, []byte(`{"resourceSpans":[{"scopeSpans":[`), nil, http.StatusBadRequest},
			{"JSON of wrong shape", "/v1/traces", js, []byte(`{"resourceSpans":"nope"}`), nil, http.StatusBadRequest},
			{"JSON trace id not hex", "/v1/traces", js, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708","name":"x"}]}]}]}`), nil, http.StatusBadRequest},
			{"JSON trace id too short", "/v1/traces", js, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708","name":"x"}]}]}]}`), nil, http.StatusBadRequest},
			// Over the 4 MiB cap: refused before decoding. (Under HTTP's
			// default 20 MiB cap this body overflowed the decoder's stack
			// and killed the collector.)
			{"protobuf nested 1e6 deep", "/v1/logs", pb, nestedLogs(1_000_000), nil, http.StatusBadRequest},
			{"protobuf nested 1e6 gzip", "/v1/logs", pb, gzipped(nestedLogs(1_000_000)), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
			{"logs garbage", "/v1/logs", pb, garbage, nil, http.StatusBadRequest},
			{"body over 20 MiB", "/v1/logs", pb, bytes.Repeat([]byte{0}, 21<<20), nil, http.StatusBadRequest},
			{"gzip bomb over 20 MiB", "/v1/logs", pb, gzipped(bytes.Repeat([]byte{0}, 64<<20)), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
			{"broken gzip", "/v1/traces", pb, garbage, []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
			{"unknown content type", "/v1/traces", "text/plain", []byte("hello"), nil, http.StatusUnsupportedMediaType},
		}
		for _, c := range cases {
			code, body := post(c.path, c.ctype, c.body, c.hdr...)
			assert.Equal(t, c.want, code, "%s: %s", c.name, body)
			t.Logf("HTTP %-24s -> %d %.120q", c.name, code, body)
		}
		// Deep nesting that fits under the cap is decoded (OTLP sets no
		// depth limit) without harm to the collector.
		deepJSON := []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, 80000) + `{}` + strings.Repeat(`}]}}`, 80000) + `}]}]}]}`)
		require.Less(t, len(deepJSON), 4<<20)
		for name, body := range map[string][]byte{"JSON nested 80000 deep": deepJSON, "protobuf nested 300000 deep": nestedLogs(300_000)} {
			ctype := js
			if body[0] != '{' {
				ctype = pb
			}
			code, resp := post("/v1/logs", ctype, body)
			assert.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, code, "%s: %s", name, resp)
			t.Logf("HTTP %-24s -> %d (%d bytes) %.80q", name, code, len(body), resp)
			bad.alive()
		}
		bad.alive()
	})

	t.Run("grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(bad.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		require.NoError(t, err)
		defer conn.Close()
		raw := func(method string, body []byte) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var reply []byte
			return conn.Invoke(ctx, method, &body, &reply, grpc.ForceCodec(rawCodec{}))
		}
		const traces = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
		const logs = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
		big := ptrace.NewTraces()
		sp := big.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.Attributes().PutStr("blob", strings.Repeat("a", 5<<20))
		bigBody, err := ptraceotlp.NewExportRequestFromTraces(big).MarshalProto()
		require.NoError(t, err)
		cases := []struct {
			name, method string
			body         []byte
			// Malformed protobuf is refused by grpc-go's codec, before the
			// receiver sees it, with INTERNAL; OTLP clients treat it, like
			// INVALID_ARGUMENT, as not retryable.
			want []codes.Code
		}{
			{"garbage protobuf", traces, garbage, []codes.Code{codes.Internal, codes.InvalidArgument}},
			{"truncated protobuf", traces, spanWithTraceID(make([]byte, 16))[:20], []codes.Code{codes.Internal, codes.InvalidArgument}},
			{"trace id of 5 bytes", traces, spanWithTraceID([]byte{1, 2, 3, 4, 5}), []codes.Code{codes.Internal, codes.InvalidArgument}},
			{"logs garbage", logs, garbage, []codes.Code{codes.Internal, codes.InvalidArgument}},
			{"message over 4 MiB", traces, bigBody, []codes.Code{codes.ResourceExhausted}},
			{"protobuf nested 1e6 deep", logs, nestedLogs(1_000_000), []codes.Code{codes.ResourceExhausted}},
			{"protobuf nested 300000", logs, nestedLogs(300_000), []codes.Code{codes.OK}},
		}
		for _, c := range cases {
			err := raw(c.method, c.body)
			assert.Contains(t, c.want, status.Code(err), "%s: %v", c.name, err)
			t.Logf("gRPC %-22s -> %s", c.name, status.Code(err))
			bad.alive()
		}
	})

	t.Run("hostile attributes are accepted and stored", func(t *testing.T) {
		conn, err := grpc.NewClient(gw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		service := "hostile-" + fmt.Sprint(time.Now().UnixNano())
		td, nSpans := hostileTraces(service)
		_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
		require.NoError(t, err)
		ld, nLogs := hostileLogs(service)
		_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
		require.NoError(t, err)
		// Also over HTTP/JSON, which takes another decoding path.
		jsBody, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
		require.NoError(t, err)
		code, body := postTo(gw, "/v1/traces", js, jsBody)
		assert.Equal(t, http.StatusOK, code, body)

		testutil.Eventually(t, 60*time.Second, 250*time.Millisecond, func() error {
			gw.alive()
			var resp struct {
				Data []struct {
					Spans []struct{} `json:"spans"`
				} `json:"data"`
			}
			if err := jaeger.GetJSON("/api/traces?limit=100000&service="+service, &resp); err != nil {
				return err
			}
			n := 0
			for _, tr := range resp.Data {
				n += len(tr.Spans)
			}
			if n < nSpans {
				return fmt.Errorf("%d of %d hostile spans in Jaeger", n, nSpans)
			}
			return nil
		})
		vlogs.WaitForCount(t, fmt.Sprintf("run:=%q", service), nLogs, 60*time.Second)
		gw.alive()
	})
}
