package parser

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Sample lines from the shared description of what Dynamo writes (new, mid
// and Python versions), plus the old version's SPAN_CREATED shape.
const (
	lineNewFrontend = `{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","file":"lib/llm/src/http/service/metrics.rs","line":1042,"target":"dynamo_llm::http::service::metrics","message":"request received","endpoint":"chat_completions","method":"POST","model":"Qwen/Qwen3-0.6B","request_id":"6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44","request_type":"stream","span_id":"f7e487a9d2a6bf38","span_name":"http-request","trace_flags":"01","trace_id":"80196f3e3a6fdf06d23bb9ada3788518","uri":"/v1/chat/completions","version":"HTTP/1.1","x_request_id":"test-trace-001"}`
	lineNewWorker   = `{"time":"2026-07-30T18:04:11.484107Z","level":"INFO","file":"lib/runtime/src/pipeline/network/ingress/push_handler.rs","line":211,"target":"dynamo_runtime::pipeline::network::ingress::push_handler","message":"request received","component":"backend","endpoint":"generate","instance_id":"2221573453717914121","namespace":"dynamo","otel.kind":"server","parent_id":"5b1c0e2f9a3d4e71","request_id":"6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44","span_id":"9e2f4c7a1b3d5e60","span_name":"handle_payload","trace_flags":"01","trace_id":"80196f3e3a6fdf06d23bb9ada3788518","x_request_id":"test-trace-001"}`
	lineMid         = `{"time":"2026-02-11T09:12:03.118270Z","level":"DEBUG","file":"/opt/dynamo/lib/runtime/src/pipeline/network/ingress/push_handler.rs","line":187,"target":"dynamo_runtime::pipeline::network::ingress::push_handler","message":"Handling request","component":"prefill","endpoint":"generate","instance_id":"3866790875219207267","namespace":"vllm-disagg","parent_id":"5c20cc08e6afb2b7","span_id":"1a2b3c4d5e6f7a8b","span_name":"handle_payload","trace_id":"b672ccf48683b392891c5cb4163d4b51","x_dynamo_request_id":"8372eac7-5f43-4d76-beca-0a94cfb311d0","x_request_id":"test-trace-001"}`
	lineSpanClosed  = `{"time":"2026-07-30T18:04:11.503330Z","level":"INFO","file":"lib/runtime/src/logging.rs","line":418,"target":"request_span","message":"SPAN_CLOSED","input_tokens":"9","method":"POST","output_tokens":"50","request_id":"6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44","span_id":"f7e487a9d2a6bf38","span_name":"http-request","time.busy_us":1843,"time.duration_us":20412,"time.idle_us":18569,"trace_id":"80196f3e3a6fdf06d23bb9ada3788518","ttft_ms":"5.85","uri":"/v1/chat/completions","x_request_id":"test-trace-001"}`
	linePython      = `{"time":"2026-07-30T18:03:58.943377Z","level":"INFO","target":"log","message":"VllmWorker for Qwen/Qwen3-0.6B has been initialized","log.file":"/opt/dynamo/venv/lib/python3.12/site-packages/dynamo/vllm/main.py","log.line":191,"log.target":"main.init"}`
	lineError       = `{"time":"2026-07-30T18:05:03.010552Z","level":"ERROR","file":"lib/llm/src/http/service/metrics.rs","line":1101,"target":"dynamo_llm::http::service::metrics","message":"request completed","elapsed_ms":"556","error_detail":"internal server error\n\nCaused by:\n    0: stream ended before generation completed","error_type":"internal","kv_transfer_params":{"do_remote_decode":true,"remote_block_ids":null},"span_id":"f7e487a9d2a6bf38","span_name":"http-request","status":"error","trace_id":"80196f3e3a6fdf06d23bb9ada3788518","x_request_id":"test-trace-001"}`
	lineOld         = `{"time":"2025-06-02T10:00:00.000001Z","level":"TRACE","file":"lib/runtime/src/logging.rs","line":300,"target":"request_span","message":"SPAN_CREATED","span_id":"11","parent_id":"7","span_name":"http-request"}`
	lineANSI        = "\x1b[2m2026-07-30T18:04:12.003114Z\x1b[0m \x1b[33mWARNING\x1b[0m vllm.engine: Engine 000: Avg prompt throughput: 0.0 tokens/s"
)

func parse(t *testing.T, line string) (plog.LogRecord, Result) {
	t.Helper()
	lr := plog.NewLogRecord()
	var p Parser
	res := p.Parse([]byte(line), lr)
	return lr, res
}

func attr(t *testing.T, lr plog.LogRecord, key string) pcommon.Value {
	t.Helper()
	v, ok := lr.Attributes().Get(key)
	require.True(t, ok, "attribute %q missing in %v", key, lr.Attributes().AsRaw())
	return v
}

func ts(t *testing.T, s string) pcommon.Timestamp {
	t.Helper()
	tt, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return pcommon.NewTimestampFromTime(tt)
}

func TestNewFrontendLine(t *testing.T) {
	lr, res := parse(t, lineNewFrontend)
	assert.Zero(t, res)
	assert.Equal(t, ts(t, "2026-07-30T18:04:11.482913Z"), lr.Timestamp())
	assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
	assert.Equal(t, "INFO", lr.SeverityText())
	assert.Equal(t, "request received", lr.Body().Str())
	assert.Equal(t, "80196f3e3a6fdf06d23bb9ada3788518", lr.TraceID().String())
	assert.Equal(t, "f7e487a9d2a6bf38", lr.SpanID().String())
	assert.Equal(t, plog.LogRecordFlags(1), lr.Flags())
	assert.Equal(t, "lib/llm/src/http/service/metrics.rs", attr(t, lr, AttrCodeFilePath).Str())
	assert.Equal(t, int64(1042), attr(t, lr, AttrCodeLineNumber).Int())
	assert.Equal(t, "dynamo_llm::http::service::metrics", attr(t, lr, AttrTarget).Str())
	assert.Equal(t, "test-trace-001", attr(t, lr, "x_request_id").Str())
	assert.Equal(t, "6ec6ddd9-3b1e-4f0a-9a51-0c2d7d1e8f44", attr(t, lr, "request_id").Str())
	assert.Equal(t, "http-request", attr(t, lr, "span_name").Str())
	for _, moved := range []string{"time", "level", "message", "file", "line", "trace_id", "span_id"} {
		_, ok := lr.Attributes().Get(moved)
		assert.False(t, ok, "%s must not stay an attribute", moved)
	}
	_, text := lr.Attributes().Get(AttrText)
	assert.False(t, text)
}

func TestNewWorkerLineKeepsSpanFieldsAsStrings(t *testing.T) {
	lr, _ := parse(t, lineNewWorker)
	assert.Equal(t, pcommon.ValueTypeStr, attr(t, lr, "instance_id").Type())
	assert.Equal(t, "2221573453717914121", attr(t, lr, "instance_id").Str())
	assert.Equal(t, "server", attr(t, lr, "otel.kind").Str())
	assert.Equal(t, "5b1c0e2f9a3d4e71", attr(t, lr, "parent_id").Str())
	assert.Equal(t, "9e2f4c7a1b3d5e60", lr.SpanID().String())
}

func TestMidLineAbsolutePathAndOldRequestIDKey(t *testing.T) {
	lr, _ := parse(t, lineMid)
	assert.Equal(t, plog.SeverityNumberDebug, lr.SeverityNumber())
	assert.Equal(t, "/opt/dynamo/lib/runtime/src/pipeline/network/ingress/push_handler.rs", attr(t, lr, AttrCodeFilePath).Str())
	assert.Equal(t, "8372eac7-5f43-4d76-beca-0a94cfb311d0", attr(t, lr, "x_dynamo_request_id").Str())
	assert.Equal(t, "b672ccf48683b392891c5cb4163d4b51", lr.TraceID().String())
	assert.Equal(t, plog.LogRecordFlags(0), lr.Flags(), "the mid version writes no trace_flags")
}

func TestSpanClosedKeepsIntegerTimings(t *testing.T) {
	lr, _ := parse(t, lineSpanClosed)
	assert.Equal(t, "SPAN_CLOSED", lr.Body().Str())
	for key, want := range map[string]int64{"time.busy_us": 1843, "time.duration_us": 20412, "time.idle_us": 18569} {
		v := attr(t, lr, key)
		assert.Equal(t, pcommon.ValueTypeInt, v.Type(), key)
		assert.Equal(t, want, v.Int(), key)
	}
	assert.Equal(t, "5.85", attr(t, lr, "ttft_ms").Str())
	assert.Equal(t, "request_span", attr(t, lr, AttrTarget).Str())
}

func TestPythonLineMapsLikeRust(t *testing.T) {
	lr, res := parse(t, linePython)
	assert.Zero(t, res)
	assert.Equal(t, "/opt/dynamo/venv/lib/python3.12/site-packages/dynamo/vllm/main.py", attr(t, lr, AttrCodeFilePath).Str())
	assert.Equal(t, int64(191), attr(t, lr, AttrCodeLineNumber).Int())
	assert.Equal(t, "main.init", attr(t, lr, AttrTarget).Str(), "log.target replaces the bridge's target \"log\"")
	for _, gone := range []string{"log.file", "log.line", "log.target"} {
		_, ok := lr.Attributes().Get(gone)
		assert.False(t, ok, gone)
	}
	assert.True(t, lr.TraceID().IsEmpty())
}

func TestPythonKeysWinWhateverTheOrder(t *testing.T) {
	lr, _ := parse(t, `{"log.target":"main.init","log.line":7,"target":"log","line":1,"message":"m"}`)
	assert.Equal(t, "main.init", attr(t, lr, AttrTarget).Str())
	assert.Equal(t, int64(7), attr(t, lr, AttrCodeLineNumber).Int())
}

func TestErrorLineNestedObjectNullAndMultilineString(t *testing.T) {
	lr, _ := parse(t, lineError)
	assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
	kv := attr(t, lr, "kv_transfer_params")
	require.Equal(t, pcommon.ValueTypeMap, kv.Type())
	b, ok := kv.Map().Get("do_remote_decode")
	require.True(t, ok)
	assert.True(t, b.Bool())
	null, ok := kv.Map().Get("remote_block_ids")
	require.True(t, ok)
	assert.Equal(t, pcommon.ValueTypeEmpty, null.Type())
	assert.Equal(t, "internal server error\n\nCaused by:\n    0: stream ended before generation completed", attr(t, lr, "error_detail").Str())
}

func TestOldVersionDecimalIDsStayAttributes(t *testing.T) {
	lr, res := parse(t, lineOld)
	assert.Zero(t, res)
	assert.True(t, lr.TraceID().IsEmpty())
	assert.True(t, lr.SpanID().IsEmpty())
	assert.Equal(t, "11", attr(t, lr, "span_id").Str())
	assert.Equal(t, "SPAN_CREATED", lr.Body().Str())
	assert.Equal(t, plog.SeverityNumberTrace, lr.SeverityNumber())
}

func TestIDsThatAreNotTraceContext(t *testing.T) {
	cases := map[string]struct {
		line string
		key  string
		want any
	}{
		"decimal span id number":  {`{"span_id":4242,"trace_id":77}`, "span_id", int64(4242)},
		"decimal trace id number": {`{"span_id":4242,"trace_id":77}`, "trace_id", int64(77)},
		"trace id too short":      {`{"trace_id":"80196f3e3a6fdf06d23bb9ada378851"}`, "trace_id", "80196f3e3a6fdf06d23bb9ada378851"},
		"trace id not hex":        {`{"trace_id":"80196f3e3a6fdf06d23bb9ada378851z"}`, "trace_id", "80196f3e3a6fdf06d23bb9ada378851z"},
		"span id all zero":        {`{"span_id":"0000000000000000"}`, "span_id", "0000000000000000"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lr, _ := parse(t, tc.line)
			assert.True(t, lr.TraceID().IsEmpty())
			assert.True(t, lr.SpanID().IsEmpty())
			assert.Equal(t, tc.want, attr(t, lr, tc.key).AsRaw())
		})
	}
}

func TestLocalTimeZoneForm(t *testing.T) {
	lr, _ := parse(t, `{"time":"2026-07-30T20:04:11.482913+02:00","level":"INFO","message":"m"}`)
	assert.Equal(t, ts(t, "2026-07-30T18:04:11.482913Z"), lr.Timestamp())
	lr, _ = parse(t, `{"time":"2026-07-30T13:34:11.5-04:30","message":"m"}`)
	assert.Equal(t, ts(t, "2026-07-30T18:04:11.5Z"), lr.Timestamp())
}

func TestUnparsableTimeStaysAttribute(t *testing.T) {
	lr, _ := parse(t, `{"time":"yesterday","message":"m"}`)
	assert.Zero(t, lr.Timestamp())
	assert.Equal(t, "yesterday", attr(t, lr, "time").Str())
}

func TestLevels(t *testing.T) {
	for level, want := range map[string]plog.SeverityNumber{
		"TRACE": plog.SeverityNumberTrace, "DEBUG": plog.SeverityNumberDebug, "INFO": plog.SeverityNumberInfo,
		"WARN": plog.SeverityNumberWarn, "WARNING": plog.SeverityNumberWarn, "warning": plog.SeverityNumberWarn,
		"ERROR": plog.SeverityNumberError, "CRITICAL": plog.SeverityNumberFatal, "FATAL": plog.SeverityNumberFatal,
		"NOTICE": plog.SeverityNumberUnspecified,
	} {
		lr, _ := parse(t, `{"level":"`+level+`","message":"m"}`)
		assert.Equal(t, want, lr.SeverityNumber(), level)
		assert.Equal(t, level, lr.SeverityText(), level)
	}
}

func TestJSONTypesKept(t *testing.T) {
	lr, _ := parse(t, `{"message":"m","i":-12,"big":12345678901234567890,"f":1.5,"e":2e3,"t":true,"f2":false,"arr":[1,"a",{"k":[]}],"obj":{},"esc":"a\"b\\c\u00e9\ud83d\ude00\t","lone":"\ud800x"}`)
	assert.Equal(t, int64(-12), attr(t, lr, "i").Int())
	assert.Equal(t, pcommon.ValueTypeDouble, attr(t, lr, "big").Type())
	assert.InDelta(t, 1.2345678901234567e19, attr(t, lr, "big").Double(), 1e4)
	assert.InDelta(t, 1.5, attr(t, lr, "f").Double(), 0)
	assert.InDelta(t, 2000.0, attr(t, lr, "e").Double(), 0)
	assert.True(t, attr(t, lr, "t").Bool())
	assert.False(t, attr(t, lr, "f2").Bool())
	assert.Equal(t, []any{int64(1), "a", map[string]any{"k": []any{}}}, attr(t, lr, "arr").AsRaw())
	assert.Equal(t, map[string]any{}, attr(t, lr, "obj").AsRaw())
	assert.Equal(t, "a\"b\\cé😀\t", attr(t, lr, "esc").Str())
	assert.Equal(t, "\uFFFDx", attr(t, lr, "lone").Str())
}

func TestNonStringMessageKeepsItsType(t *testing.T) {
	lr, _ := parse(t, `{"message":{"a":1}}`)
	assert.Equal(t, map[string]any{"a": int64(1)}, lr.Body().AsRaw())
	lr, _ = parse(t, `{"level":"INFO"}`)
	assert.Equal(t, pcommon.ValueTypeEmpty, lr.Body().Type(), "no message, no body")
}

func TestANSITextLine(t *testing.T) {
	lr, res := parse(t, lineANSI)
	assert.Equal(t, NonJSON, res)
	assert.Equal(t, "2026-07-30T18:04:12.003114Z WARNING vllm.engine: Engine 000: Avg prompt throughput: 0.0 tokens/s", lr.Body().Str())
	assert.Equal(t, ts(t, "2026-07-30T18:04:12.003114Z"), lr.Timestamp())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "WARNING", lr.SeverityText())
	assert.True(t, attr(t, lr, AttrText).Bool())
}

func TestTextLineShapes(t *testing.T) {
	cases := []struct {
		line string
		sev  plog.SeverityNumber
		ts   bool
	}{
		{"Traceback (most recent call last):", plog.SeverityNumberUnspecified, false},
		{`  File "/opt/dynamo/main.py", line 12, in <module>`, plog.SeverityNumberUnspecified, false},
		{"ValueError: bad value", plog.SeverityNumberUnspecified, false},
		{"INFO 07-30 18:04:12 [loggers.py:116] Engine 000: Avg prompt throughput", plog.SeverityNumberInfo, false},
		{"2026-07-30 18:04:12,003 ERROR boom", plog.SeverityNumberError, true},
		{"[ERROR] boom", plog.SeverityNumberError, false},
		{"INFORMATION only", plog.SeverityNumberUnspecified, false},
	}
	for _, tc := range cases {
		lr, res := parse(t, tc.line)
		assert.Equal(t, NonJSON, res, tc.line)
		assert.Equal(t, tc.line, lr.Body().Str())
		assert.Equal(t, tc.sev, lr.SeverityNumber(), tc.line)
		assert.Equal(t, tc.ts, lr.Timestamp() != 0, tc.line)
	}
}

func TestBrokenJSONBecomesTextWithNothingLeftOver(t *testing.T) {
	for _, line := range []string{
		`{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","message":"cut`,
		`{"a":1} trailing`,
		`{"a":tru}`,
		`{"a":1,}`,
		`{"a" 1}`,
		`{"a":"\x"}`,
		`{"a":01.}`,
		`{` + strings.Repeat(`"a":[`, maxDepth+1),
	} {
		lr, res := parse(t, line)
		assert.Equal(t, NonJSON, res, line)
		assert.Equal(t, line, lr.Body().Str())
		assert.Equal(t, 1, lr.Attributes().Len(), "only the text marker: %v", lr.Attributes().AsRaw())
		assert.Zero(t, lr.Timestamp())
		assert.True(t, lr.TraceID().IsEmpty())
	}
}

func TestEmptyAndWhitespaceLines(t *testing.T) {
	for _, line := range []string{"", " ", "\t \r", "\x1b[0m  \x1b[2m"} {
		_, res := parse(t, line)
		assert.Equal(t, Empty, res&Empty, "%q", line)
	}
}

func TestInvalidUTF8IsRepaired(t *testing.T) {
	lr, res := parse(t, "{\"message\":\"caf\xe9\",\"k\xff\":\"v\"}")
	assert.Equal(t, Repaired, res)
	assert.Equal(t, "caf\uFFFD", lr.Body().Str())
	assert.Equal(t, "v", attr(t, lr, "k\uFFFD").Str())

	lr, res = parse(t, "plain \xc3\x28 text")
	assert.Equal(t, Repaired|NonJSON, res)
	assert.Equal(t, "plain \uFFFD( text", lr.Body().Str())
}

func TestCRLFLineEnd(t *testing.T) {
	lr, res := parse(t, `{"message":"m"}`+"\r")
	assert.Zero(t, res)
	assert.Equal(t, "m", lr.Body().Str())
	lr, _ = parse(t, "text\r")
	assert.Equal(t, "text", lr.Body().Str())
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-07-30T18:04:11.482913Z":      "2026-07-30T18:04:11.482913Z",
		"2026-07-30T20:04:11.482913+02:00": "2026-07-30T18:04:11.482913Z",
		"2026-07-30T18:04:11Z":             "2026-07-30T18:04:11Z",
		"2026-07-30T18:04:11.123456789Z":   "2026-07-30T18:04:11.123456789Z",
		"2026-07-30 18:04:11":              "2026-07-30T18:04:11Z",
	} {
		got, ok := ParseTime([]byte(in))
		require.True(t, ok, in)
		assert.Equal(t, int64(ts(t, want)), got, in)
	}
	for _, bad := range []string{"", "2026-07-30", "2026-13-30T18:04:11Z", "2026-07-30T18:04:11.Z", "2026-07-30T18:04:11Zjunk", "2026-07-30T18:04:11+0200"} {
		_, ok := ParseTime([]byte(bad))
		assert.False(t, ok, bad)
	}
}

func TestStripANSI(t *testing.T) {
	assert.Equal(t, "plain", string(StripANSI([]byte("plain"))))
	assert.Equal(t, "red bold", string(StripANSI([]byte("\x1b[31mred\x1b[0m \x1b[1;4mbold\x1b[m"))))
	assert.Equal(t, "title", string(StripANSI([]byte("\x1b]0;x\x07title"))))
	assert.Equal(t, "ab", string(StripANSI([]byte("a\x1b(Bb"))), "charset selection ESC ( B")
	assert.Equal(t, "a\u00e9", string(StripANSI([]byte("a\x1b\u00e9"))), "a lone ESC before UTF-8 text")
	assert.Equal(t, "x\u00e9y", string(StripANSI([]byte("x\x1b[\u00e9y"))), "a malformed CSI keeps the text")
}

func TestParseTruncatedKeepsKeysBeforeTheCut(t *testing.T) {
	// Cut inside a nested object after the message.
	cut := lineError[:strings.Index(lineError, `"remote_block_ids"`)+5]
	var p Parser
	lr := plog.NewLogRecord()
	res := p.ParseTruncated([]byte(cut), lr)
	assert.Zero(t, res&NonJSON)
	assert.Equal(t, "request completed", lr.Body().Str())
	assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
	assert.Equal(t, ts(t, "2026-07-30T18:05:03.010552Z"), lr.Timestamp())
	assert.Equal(t, "internal", attr(t, lr, "error_type").Str())
	_, ok := lr.Attributes().Get("kv_transfer_params")
	assert.False(t, ok, "the value cut short is dropped")
	_, ok = lr.Attributes().Get(AttrText)
	assert.False(t, ok)

	// Cut inside the message: the body is the cut text, the keys before it stay.
	cut = lineNewFrontend[:strings.Index(lineNewFrontend, `"message":"`)+14]
	lr = plog.NewLogRecord()
	p.ParseTruncated([]byte(cut), lr)
	assert.Equal(t, cut, lr.Body().Str())
	assert.Equal(t, int64(1042), attr(t, lr, AttrCodeLineNumber).Int())
	assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())

	// Nothing complete: a text record, as with Parse.
	lr = plog.NewLogRecord()
	res = p.ParseTruncated([]byte(`{"time":"2026-07-30T18:0`), lr)
	assert.Equal(t, NonJSON, res)
	assert.True(t, attr(t, lr, AttrText).Bool())

	// A complete line parses as usual.
	lr = plog.NewLogRecord()
	res = p.ParseTruncated([]byte(linePython), lr)
	assert.Zero(t, res)
	assert.Equal(t, "main.init", attr(t, lr, AttrTarget).Str())
}

// recordJSON is a deep copy of lr as text, to compare records.
func recordJSON(t testing.TB, lr plog.LogRecord) string {
	t.Helper()
	ld := plog.NewLogs()
	lr.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOwnsItsValues parses line with a Parser that parsed other lines
// before (its arena, key cache and scratch in use) and checks that the
// record equals the one a fresh Parser makes, and that it does not change
// when the input and the Parser's buffers are reused afterwards.
func checkOwnsItsValues(t testing.TB, line []byte, cut bool) {
	t.Helper()
	parse := func(p *Parser, line []byte, lr plog.LogRecord) {
		if cut {
			p.ParseTruncated(line, lr)
		} else {
			p.Parse(line, lr)
		}
	}
	var fresh, warm Parser
	for _, l := range []string{lineNewFrontend, lineError, linePython, `{"k":"esc\"aped\n","n":{"k":"v"}}`} {
		warm.Parse([]byte(l), plog.NewLogRecord())
	}
	want := plog.NewLogRecord()
	parse(&fresh, bytes.Clone(line), want)
	in := bytes.Clone(line)
	got := plog.NewLogRecord()
	parse(&warm, in, got)
	before := recordJSON(t, got)
	if before != recordJSON(t, want) {
		t.Fatalf("a Parser in use gives another record than a fresh one for %q:\n%s\n%s", line, before, recordJSON(t, want))
	}
	for i := range in {
		in[i] = 'x'
	}
	for _, l := range []string{lineError, `{"k":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`, lineNewWorker} {
		warm.Parse([]byte(l), plog.NewLogRecord())
	}
	if after := recordJSON(t, got); after != before {
		t.Fatalf("the record of %q changed when the input and the Parser were reused:\n%s\n%s", line, before, after)
	}
}

func TestRecordsOwnTheirValues(t *testing.T) {
	for _, line := range []string{lineNewFrontend, lineNewWorker, lineMid, lineSpanClosed, linePython, lineError, lineOld, lineANSI,
		`{"message":"tab\tquote\" \u00e9 \ud83d\ude00","k":"` + strings.Repeat("long value ", 1000) + `","level":"warn"}`,
		`{"time":"not a time","level":"Info","trace_id":"xyz","span_id":12,"trace_flags":"01"}`,
		`{"a":[1,"two",{"three":"3"}],"b":{"c":{"d":"e"}}}`,
	} {
		checkOwnsItsValues(t, []byte(line), false)
		checkOwnsItsValues(t, []byte(line[:len(line)*2/3]), true)
	}
}

func TestParsingManyLinesWithOneParser(t *testing.T) {
	// Lines of every size: arenas are filled, replaced and dropped.
	var p Parser
	type kept struct {
		lr   plog.LogRecord
		want string
	}
	var records []kept
	for i := range 300 {
		line := fmt.Sprintf(`{"time":"2026-07-30T18:04:11.482913Z","level":"INFO","message":"m%d","v":"%s","w":"\u00e9%d"}`,
			i, strings.Repeat("x", (i*i*37)%(70<<10)), i)
		lr := plog.NewLogRecord()
		require.Zero(t, p.Parse([]byte(line), lr))
		records = append(records, kept{lr, recordJSON(t, lr)})
		assert.Equal(t, fmt.Sprintf("\u00e9%d", i), attr(t, lr, "w").Str())
	}
	for _, r := range records {
		assert.Equal(t, r.want, recordJSON(t, r.lr))
	}
}

func TestSeverityTextAsWritten(t *testing.T) {
	for _, level := range []string{"INFO", "info", "Warning", "WARN", "CRITICAL", "notice"} {
		lr, _ := parse(t, `{"level":"`+level+`"}`)
		assert.Equal(t, level, lr.SeverityText())
		lr, _ = parse(t, level+" text line")
		assert.Equal(t, Severity([]byte(level)), lr.SeverityNumber())
		if lr.SeverityNumber() != plog.SeverityNumberUnspecified {
			assert.Equal(t, level, lr.SeverityText())
		}
	}
}

func TestAttributesAllocatedOnce(t *testing.T) {
	// The attribute array is sized once, with room for what the caller
	// adds: adding them costs their value wrappers only.
	names := []string{"added0", "added1", "added2"}
	for _, line := range []string{lineNewFrontend, lineNewWorker, lineSpanClosed, linePython, lineError, lineOld, lineANSI} {
		in := []byte(line)
		for reserve := range len(names) + 1 {
			allocs := func(add int) float64 {
				p := Parser{Reserve: reserve}
				return testing.AllocsPerRun(20, func() {
					lr := plog.NewLogRecord()
					p.Parse(in, lr)
					for _, name := range names[:add] {
						lr.Attributes().PutBool(name, true)
					}
				})
			}
			assert.Equal(t, allocs(0)+float64(reserve), allocs(reserve), "%d added to %.40s…", reserve, line)
		}
	}
}

func TestQuoteOrBackslash(t *testing.T) {
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if b[i] == '"' || b[i] == '\\' {
				return i
			}
		}
		return len(b)
	}
	// Every length up to past the long-string switch, every start, a quote
	// or backslash (or none) at every place, next to bytes that differ from
	// them by one bit or have the high bit set.
	for n := range 80 {
		for _, c := range []byte{'"', '\\', 0} {
			for at := range n + 1 {
				b := bytes.Repeat([]byte{'a', 0x22 ^ 0x80, 0x5c ^ 1, 0xff, 0x23, 0x5d, 0x01}, n)[:n]
				if at < n && c != 0 {
					b[at] = c
				}
				for start := range min(n+1, 10) {
					require.Equal(t, naive(b, start), quoteOrBackslash(b, start), "n %d at %d start %d c %q", n, at, start, c)
				}
			}
		}
	}
}

func TestParseTruncatedValueOfEmptyKeyCut(t *testing.T) {
	// The attribute of an empty key whose value is cut stays, empty (as it
	// always did: an empty name is not told from no attribute being read).
	var p Parser
	lr := plog.NewLogRecord()
	p.ParseTruncated([]byte(`{"a":"b","":"cut her`), lr)
	assert.Equal(t, map[string]any{"a": "b", "": nil}, lr.Attributes().AsRaw())
	lr = plog.NewLogRecord()
	p.ParseTruncated([]byte(`{"a":"b","c":"cut her`), lr)
	assert.Equal(t, map[string]any{"a": "b"}, lr.Attributes().AsRaw())
}
