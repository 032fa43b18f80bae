package lokipush

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var defaultLabels = []Label{
	{Name: "service_name", Source: FromResource, Attribute: "service.name"},
	{Name: "dynamo_component", Source: FromResource, Attribute: "dynamo.component"},
	{Name: "level", Source: FromSeverity},
}

var defaultMetadata = []Field{
	{Attribute: "trace_id", Name: "trace_id"},
	{Attribute: "span_id", Name: "span_id"},
	{Attribute: "x_request_id", Name: "x_request_id"},
	{Attribute: "request_id", Name: "request_id"},
}

func newEncoder(t testing.TB, opts Options) *Encoder {
	t.Helper()
	e, err := NewEncoder(opts)
	require.NoError(t, err)
	return e
}

func addRecord(sl plog.ScopeLogs, ts int64, sev plog.SeverityNumber, body string, attrs map[string]any) plog.LogRecord {
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(ts))
	lr.SetSeverityNumber(sev)
	lr.Body().SetStr(body)
	_ = lr.Attributes().FromRaw(attrs)
	return lr
}

func newResource(ld plog.Logs, attrs map[string]any) plog.ScopeLogs {
	rl := ld.ResourceLogs().AppendEmpty()
	_ = rl.Resource().Attributes().FromRaw(attrs)
	return rl.ScopeLogs().AppendEmpty()
}

func TestGroupStreamsByLabelValues(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels})
	ld := plog.NewLogs()
	front := newResource(ld, map[string]any{"service.name": "dynamo-frontend"})
	addRecord(front, 3000, plog.SeverityNumberInfo, "c", nil)
	addRecord(front, 1000, plog.SeverityNumberInfo, "a", nil)
	addRecord(front, 2000, plog.SeverityNumberError, "b", nil)
	worker := newResource(ld, map[string]any{"service.name": "dynamo-worker-prefill", "dynamo.component": "prefill"})
	addRecord(worker, 5000, plog.SeverityNumberInfo, "w", nil)
	// A second resource with the same labels joins the first one's stream.
	front2 := newResource(ld, map[string]any{"service.name": "dynamo-frontend", "host.name": "other"})
	addRecord(front2, 500, plog.SeverityNumberInfo, "early", nil)

	res := e.Group(ld, time.Unix(0, 0))
	require.Len(t, res.Batches, 1)
	b := res.Batches[0]
	assert.Equal(t, "", b.Tenant)
	assert.Equal(t, 5, b.Entries)
	assert.Equal(t, []int{0, 1, 2}, b.Resources)
	require.Len(t, b.Streams, 3)

	assert.Equal(t, `{level="info", service_name="dynamo-frontend"}`, b.Streams[0].LabelString)
	assert.Equal(t, `{level="error", service_name="dynamo-frontend"}`, b.Streams[1].LabelString)
	assert.Equal(t, `{dynamo_component="prefill", level="info", service_name="dynamo-worker-prefill"}`, b.Streams[2].LabelString)
	assert.Equal(t, []push.LabelAdapter{{Name: "level", Value: "info"}, {Name: "service_name", Value: "dynamo-frontend"}}, b.Streams[0].Labels)

	// Entries of a stream are in timestamp order, whatever the input order.
	var lines []string
	var stamps []int64
	for _, en := range b.Streams[0].Entries {
		lines = append(lines, en.Line)
		stamps = append(stamps, en.Timestamp.UnixNano())
	}
	assert.Equal(t, []string{"early", "a", "c"}, lines)
	assert.Equal(t, []int64{500, 1000, 3000}, stamps)
	assert.Zero(t, res.Unlabelled)
}

func TestGroupRecordAttributeLabels(t *testing.T) {
	e := newEncoder(t, Options{Labels: []Label{
		{Name: "service_name", Source: FromResource, Attribute: "service.name"},
		{Name: "span_name", Source: FromRecord, Attribute: "span_name"},
	}})
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "svc"})
	addRecord(sl, 1, 0, "1", map[string]any{"span_name": "http-request"})
	addRecord(sl, 2, 0, "2", map[string]any{"span_name": "handle_payload"})
	addRecord(sl, 3, 0, "3", map[string]any{"span_name": "http-request"})
	addRecord(sl, 4, 0, "4", map[string]any{"span_name": 7})
	res := e.Group(ld, time.Unix(0, 0))
	require.Len(t, res.Batches, 1)
	var got []string
	for _, s := range res.Batches[0].Streams {
		got = append(got, s.LabelString)
	}
	assert.Equal(t, []string{
		`{service_name="svc", span_name="http-request"}`,
		`{service_name="svc", span_name="handle_payload"}`,
		`{service_name="svc", span_name="7"}`,
	}, got)
	assert.Len(t, res.Batches[0].Streams[0].Entries, 2)
}

func TestGroupFallbackLabel(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels})
	ld := plog.NewLogs()
	sl := newResource(ld, nil)
	addRecord(sl, 1, 0, "no labels at all", nil)
	addRecord(sl, 2, plog.SeverityNumberWarn, "has a level", nil)
	res := e.Group(ld, time.Unix(0, 0))
	require.Len(t, res.Batches[0].Streams, 2)
	assert.Equal(t, `{service_name="unknown_service"}`, res.Batches[0].Streams[0].LabelString)
	assert.Equal(t, `{level="warn"}`, res.Batches[0].Streams[1].LabelString)
	assert.Equal(t, 1, res.Unlabelled)
}

func TestGroupLabelValueEscaping(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels})
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "a \"quoted\" \\ name\n"})
	addRecord(sl, 1, 0, "x", nil)
	res := e.Group(ld, time.Unix(0, 0))
	assert.Equal(t, `{service_name="a \"quoted\" \\ name\n"}`, res.Batches[0].Streams[0].LabelString)
}

func TestGroupTenants(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels, TenantAttribute: "k8s.namespace.name", Tenant: "fallback"})
	ld := plog.NewLogs()
	addRecord(newResource(ld, map[string]any{"k8s.namespace.name": "team-a"}), 1, 0, "a1", nil)
	addRecord(newResource(ld, map[string]any{"k8s.namespace.name": "team-b"}), 1, 0, "b1", nil)
	addRecord(newResource(ld, nil), 1, 0, "none", nil)
	addRecord(newResource(ld, map[string]any{"k8s.namespace.name": "team-a"}), 2, 0, "a2", nil)
	res := e.Group(ld, time.Unix(0, 0))
	require.Len(t, res.Batches, 3)
	assert.Equal(t, "team-a", res.Batches[0].Tenant)
	assert.Equal(t, []int{0, 3}, res.Batches[0].Resources)
	assert.Equal(t, 2, res.Batches[0].Entries)
	assert.Equal(t, "team-b", res.Batches[1].Tenant)
	assert.Equal(t, "fallback", res.Batches[2].Tenant)
	assert.Zero(t, res.MissingTenant)
}

func TestGroupMissingTenant(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels, TenantAttribute: "tenant"})
	ld := plog.NewLogs()
	addRecord(newResource(ld, map[string]any{"tenant": "1"}), 1, 0, "ok", nil)
	sl := newResource(ld, nil)
	addRecord(sl, 1, 0, "lost", nil)
	addRecord(sl, 2, 0, "lost", nil)
	res := e.Group(ld, time.Unix(0, 0))
	require.Len(t, res.Batches, 1)
	assert.Equal(t, "1", res.Batches[0].Tenant)
	assert.Equal(t, 2, res.MissingTenant)
	assert.Equal(t, []int{1}, res.MissingTenantResources)
}

func TestTimestampFallbacks(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels})
	now := time.Unix(1_800_000_000, 0)
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "s"})
	withTS := addRecord(sl, 0, 0, "ts", nil)
	withTS.SetTimestamp(pcommon.Timestamp(now.Add(-3 * time.Second).UnixNano()))
	observed := addRecord(sl, 0, 0, "observed", nil)
	observed.SetObservedTimestamp(pcommon.Timestamp(now.Add(-2 * time.Second).UnixNano()))
	addRecord(sl, 0, 0, "now", nil)
	res := e.Group(ld, now)
	entries := res.Batches[0].Streams[0].Entries
	require.Len(t, entries, 3)
	assert.Equal(t, "ts", entries[0].Line)
	assert.Equal(t, now.Add(-3*time.Second).UnixNano(), entries[0].Timestamp.UnixNano())
	assert.Equal(t, "observed", entries[1].Line)
	assert.Equal(t, now.Add(-2*time.Second).UnixNano(), entries[1].Timestamp.UnixNano())
	assert.Equal(t, "now", entries[2].Line)
	assert.Equal(t, now.UnixNano(), entries[2].Timestamp.UnixNano())
}

func TestStructuredMetadata(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels, StructuredMetadata: append(defaultMetadata, Field{Attribute: "k8s.pod.name", Name: "k8s_pod_name"})})
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "s", "k8s.pod.name": "pod-1"})
	// Trace context from the record's fields wins over attributes.
	lr := addRecord(sl, 1, 0, "with context", map[string]any{"x_request_id": "test-trace-001", "trace_id": "ignored"})
	lr.SetTraceID(pcommon.TraceID{0x80, 0x19, 0x6f, 0x3e, 0x3a, 0x6f, 0xdf, 0x06, 0xd2, 0x3b, 0xb9, 0xad, 0xa3, 0x78, 0x85, 0x18})
	lr.SetSpanID(pcommon.SpanID{0xf7, 0xe4, 0x87, 0xa9, 0xd2, 0xa6, 0xbf, 0x38})
	// JSONL records carry the ids as attributes.
	addRecord(sl, 2, 0, "from attributes", map[string]any{"trace_id": "b672ccf48683b392891c5cb4163d4b51", "request_id": "6ec6ddd9"})
	addRecord(sl, 3, 0, "bare", nil)

	res := e.Group(ld, time.Unix(0, 0))
	entries := res.Batches[0].Streams[0].Entries
	require.Len(t, entries, 3)
	assert.Equal(t, push.LabelsAdapter{
		{Name: "trace_id", Value: "80196f3e3a6fdf06d23bb9ada3788518"},
		{Name: "span_id", Value: "f7e487a9d2a6bf38"},
		{Name: "x_request_id", Value: "test-trace-001"},
		{Name: "k8s_pod_name", Value: "pod-1"},
	}, entries[0].StructuredMetadata)
	assert.Equal(t, push.LabelsAdapter{
		{Name: "trace_id", Value: "b672ccf48683b392891c5cb4163d4b51"},
		{Name: "request_id", Value: "6ec6ddd9"},
		{Name: "k8s_pod_name", Value: "pod-1"},
	}, entries[1].StructuredMetadata)
	assert.Equal(t, push.LabelsAdapter{{Name: "k8s_pod_name", Value: "pod-1"}}, entries[2].StructuredMetadata)
}

func TestLineFormats(t *testing.T) {
	fields := []Field{{Attribute: "x_request_id", Name: "x_request_id"}, {Attribute: "input_tokens", Name: "input_tokens"}, {Attribute: "missing", Name: "missing"}}
	build := func() plog.Logs {
		ld := plog.NewLogs()
		sl := newResource(ld, map[string]any{"service.name": "s"})
		addRecord(sl, 1, 0, "request \"completed\"\n\tdone", map[string]any{"x_request_id": "test-trace-001", "input_tokens": 9})
		lr := addRecord(sl, 2, 0, "", map[string]any{"x_request_id": "id two"})
		_ = lr.Body().SetEmptyMap().FromRaw(map[string]any{"k": "v"})
		return ld
	}
	cases := []struct {
		format LineFormat
		want   []string
	}{
		{LineText, []string{"request \"completed\"\n\tdone", `{"k":"v"}`}},
		{LineJSON, []string{`{"body":"request \"completed\"\n\tdone","x_request_id":"test-trace-001","input_tokens":9}`, `{"body":{"k":"v"},"x_request_id":"id two"}`}},
		{LineLogfmt, []string{`body="request \"completed\"\n\tdone" x_request_id=test-trace-001 input_tokens=9`, `body="{\"k\":\"v\"}" x_request_id="id two"`}},
	}
	for _, tc := range cases {
		t.Run(string(tc.format), func(t *testing.T) {
			e := newEncoder(t, Options{Labels: defaultLabels, LineFormat: tc.format, LineAttributes: fields})
			res := e.Group(build(), time.Unix(0, 0))
			var got []string
			for _, en := range res.Batches[0].Streams[0].Entries {
				got = append(got, en.Line)
			}
			assert.Equal(t, tc.want, got)
			if tc.format == LineJSON {
				for _, l := range got {
					assert.True(t, json.Valid([]byte(l)), l)
				}
			}
		})
	}
}

func TestJSONStringEscaping(t *testing.T) {
	for _, s := range []string{"plain", "q\"uote\\", "ctl\x01\x1f\n\r\t", "utf8 é ✓", "bad \xff utf8", "</script>"} {
		out := appendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(out, &back), "%q -> %s", s, out)
		want, _ := json.Marshal(s)
		var wantBack string
		require.NoError(t, json.Unmarshal(want, &wantBack))
		assert.Equal(t, wantBack, back)
	}
}

func TestSeverityLevel(t *testing.T) {
	cases := []struct {
		num  plog.SeverityNumber
		text string
		want string
	}{
		{plog.SeverityNumberUnspecified, "", ""},
		{plog.SeverityNumberTrace2, "", "trace"},
		{plog.SeverityNumberDebug, "", "debug"},
		{plog.SeverityNumberInfo4, "", "info"},
		{plog.SeverityNumberWarn, "", "warn"},
		{plog.SeverityNumberError3, "", "error"},
		{plog.SeverityNumberFatal, "", "fatal"},
		{plog.SeverityNumberUnspecified, "WARNING", "warn"},
		{plog.SeverityNumberUnspecified, "ERROR", "error"},
		{plog.SeverityNumberUnspecified, "CRITICAL", "critical"},
		{plog.SeverityNumberUnspecified, "Info", "info"},
		{plog.SeverityNumberUnspecified, "something-else", "unknown"},
		// The number wins over the text.
		{plog.SeverityNumberError, "INFO", "error"},
	}
	for _, tc := range cases {
		lr := plog.NewLogRecord()
		lr.SetSeverityNumber(tc.num)
		lr.SetSeverityText(tc.text)
		assert.Equal(t, tc.want, SeverityLevel(lr), "%v %q", tc.num, tc.text)
	}
}

func TestSanitizeLabelName(t *testing.T) {
	cases := map[string]string{
		"service.name":             "service_name",
		"x-request-id":             "x_request_id",
		"k8s.namespace.name":       "k8s_namespace_name",
		"already_ok":               "already_ok",
		"9lives":                   "_9lives",
		"nvidia.com/dynamo-graph":  "nvidia_com_dynamo_graph",
		"http.request.header.x-id": "http_request_header_x_id",
		"":                         "",
	}
	for in, want := range cases {
		assert.Equal(t, want, SanitizeLabelName(in), in)
	}
	assert.True(t, IsHighCardinality("x-request-id"))
	assert.True(t, IsHighCardinality("trace_id"))
	assert.True(t, IsHighCardinality("Request_ID"))
	assert.False(t, IsHighCardinality("service.name"))
}

func TestNewEncoderRejectsBadOptions(t *testing.T) {
	_, err := NewEncoder(Options{Labels: []Label{{Name: "a.b", Source: FromResource, Attribute: "a.b"}}})
	assert.ErrorContains(t, err, `invalid label name "a.b"`)
	_, err = NewEncoder(Options{Labels: []Label{{Name: "a", Source: FromResource, Attribute: "x"}, {Name: "a", Source: FromRecord, Attribute: "y"}}})
	assert.ErrorContains(t, err, `label name "a" used twice`)
	_, err = NewEncoder(Options{LineFormat: "xml"})
	assert.ErrorContains(t, err, `unknown line format "xml"`)
}

func TestSubset(t *testing.T) {
	ld := plog.NewLogs()
	for _, name := range []string{"r0", "r1", "r2"} {
		addRecord(newResource(ld, map[string]any{"service.name": name}), 1, 0, name, nil)
	}
	sub := Subset(ld, []int{0, 2})
	require.Equal(t, 2, sub.ResourceLogs().Len())
	v, _ := sub.ResourceLogs().At(1).Resource().Attributes().Get("service.name")
	assert.Equal(t, "r2", v.Str())
	assert.Equal(t, 3, ld.ResourceLogs().Len(), "the input is left alone")
}

// decodeProtobuf is what Loki does with a protobuf push body.
func decodeProtobuf(t *testing.T, body []byte) push.PushRequest {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err, "body is not snappy block format")
	var req push.PushRequest
	require.NoError(t, req.Unmarshal(raw))
	return req
}

func TestEncodeProtobufRoundTrip(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels, StructuredMetadata: defaultMetadata})
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "dynamo-frontend"})
	addRecord(sl, 2_000, plog.SeverityNumberInfo, "second", map[string]any{"x_request_id": "r-1"})
	addRecord(sl, 1_000, plog.SeverityNumberInfo, "first", nil)
	res := e.Group(ld, time.Unix(0, 0))

	body, err := EncodeProtobuf(nil, res.Batches[0].Streams)
	require.NoError(t, err)
	// Reusing a buffer gives the same bytes.
	again, err := EncodeProtobuf(make([]byte, 0, 1<<16), res.Batches[0].Streams)
	require.NoError(t, err)
	assert.Equal(t, body, again)

	req := decodeProtobuf(t, body)
	require.Len(t, req.Streams, 1)
	assert.Equal(t, `{level="info", service_name="dynamo-frontend"}`, req.Streams[0].Labels)
	require.Len(t, req.Streams[0].Entries, 2)
	assert.Equal(t, "first", req.Streams[0].Entries[0].Line)
	assert.Equal(t, int64(1_000), req.Streams[0].Entries[0].Timestamp.UnixNano())
	assert.Equal(t, "second", req.Streams[0].Entries[1].Line)
	assert.Equal(t, push.LabelsAdapter{{Name: "x_request_id", Value: "r-1"}}, req.Streams[0].Entries[1].StructuredMetadata)
}

// jsonPush mirrors the JSON body of Loki's push API.
type jsonPush struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	} `json:"streams"`
}

func TestAppendJSON(t *testing.T) {
	e := newEncoder(t, Options{Labels: defaultLabels, StructuredMetadata: defaultMetadata})
	ld := plog.NewLogs()
	sl := newResource(ld, map[string]any{"service.name": "dynamo-frontend", "dynamo.component": "frontend"})
	addRecord(sl, 1_700_000_000_123_456_789, plog.SeverityNumberError, "boom \"x\"", map[string]any{"x_request_id": "r-1"})
	addRecord(sl, 1_700_000_000_000_000_000, plog.SeverityNumberError, "plain", nil)
	res := e.Group(ld, time.Unix(0, 0))

	body := AppendJSON(nil, res.Batches[0].Streams)
	assert.Equal(t,
		`{"streams":[{"stream":{"dynamo_component":"frontend","level":"error","service_name":"dynamo-frontend"},"values":[`+
			`["1700000000000000000","plain"],`+
			`["1700000000123456789","boom \"x\"",{"x_request_id":"r-1"}]]}]}`,
		string(body))
	var decoded jsonPush
	require.NoError(t, json.Unmarshal(body, &decoded))
	require.Len(t, decoded.Streams, 1)
	assert.Equal(t, "frontend", decoded.Streams[0].Stream["dynamo_component"])
}

func TestFindSettlesHashCollisions(t *testing.T) {
	b := &Batch{index: map[uint64][]*Stream{}}
	first := &Stream{values: []string{"dynamo-frontend", "info"}}
	second := &Stream{values: []string{"dynamo-worker", "info"}}
	b.index[42] = []*Stream{first, second}
	assert.Same(t, second, b.find(42, []string{"dynamo-worker", "info"}))
	assert.Same(t, first, b.find(42, []string{"dynamo-frontend", "info"}))
	assert.Nil(t, b.find(42, []string{"dynamo-frontend", "error"}))
	assert.Nil(t, b.find(7, []string{"dynamo-frontend", "info"}))
	assert.NotEqual(t, hashString(hashString(fnvOffset, "ab"), "c"), hashString(hashString(fnvOffset, "a"), "bc"))
}
