package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Instrumentation scopes of the spans: Dynamo's Rust SDK and vLLM's Python
// tracer.
const (
	dynamoScope = "dynamo"
	vllmScope   = "vllm.tracing"
	vllmSDKVer  = "1.27.0"
)

// SpanSet selects which spans of a request go into an export.
type SpanSet int

const (
	// AllSpans is every span of the request.
	AllSpans SpanSet = iota
	// ChildSpans is every span but the root.
	ChildSpans
	// RootSpans is the root span only.
	RootSpans
)

type resourceKey struct {
	service string
	vllm    bool
}

// TracesBuilder groups the spans of many requests into one ptrace.Traces, one
// resource per service (the Rust SDK sends only service.name) and a second
// one for vLLM's tracer in the same process (service.name plus
// telemetry.sdk.*).
type TracesBuilder struct {
	td    ptrace.Traces
	res   map[resourceKey]ptrace.SpanSlice
	spans int
}

// NewTracesBuilder returns an empty TracesBuilder.
func NewTracesBuilder() *TracesBuilder {
	return &TracesBuilder{td: ptrace.NewTraces(), res: map[resourceKey]ptrace.SpanSlice{}}
}

// Add appends the selected spans of r and returns how many it added.
func (b *TracesBuilder) Add(r *Request, set SpanSet) int {
	if r.Unsampled {
		// The SDK exports nothing of a trace it did not sample.
		return 0
	}
	n := 0
	last := len(r.Spans) - 1
	for i := range r.Spans {
		if (set == ChildSpans && i == last) || (set == RootSpans && i != last) {
			continue
		}
		s := &r.Spans[i]
		fillSpan(b.slice(resourceKey{s.Service, s.VLLM}).AppendEmpty(), r.TraceID, s)
		n++
	}
	b.spans += n
	return n
}

// Len is the number of spans added so far.
func (b *TracesBuilder) Len() int { return b.spans }

// Traces returns what was added.
func (b *TracesBuilder) Traces() ptrace.Traces { return b.td }

func (b *TracesBuilder) slice(k resourceKey) ptrace.SpanSlice {
	if ss, ok := b.res[k]; ok {
		return ss
	}
	rs := b.td.ResourceSpans().AppendEmpty()
	attrs := rs.Resource().Attributes()
	attrs.PutStr("service.name", k.service)
	scope := rs.ScopeSpans().AppendEmpty()
	if k.vllm {
		attrs.PutStr("telemetry.sdk.language", "python")
		attrs.PutStr("telemetry.sdk.name", "opentelemetry")
		attrs.PutStr("telemetry.sdk.version", vllmSDKVer)
		scope.Scope().SetName(vllmScope)
	} else {
		scope.Scope().SetName(dynamoScope)
	}
	b.res[k] = scope.Spans()
	return scope.Spans()
}

func fillSpan(span ptrace.Span, traceID pcommon.TraceID, s *Span) {
	span.SetTraceID(traceID)
	span.SetSpanID(s.SpanID)
	span.SetParentSpanID(s.ParentID)
	span.SetName(s.Name)
	span.SetKind(s.Kind)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(s.Start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(s.End))
	span.SetFlags(1) // sampled
	putAttrs(span.Attributes(), s.Attrs)
	if s.Error {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage("internal")
	}
}

// LogsBuilder groups the OTLP log records of many requests into one
// plog.Logs, one resource per service and one scope per Rust target.
type LogsBuilder struct {
	ld      plog.Logs
	scopes  map[[2]string]plog.LogRecordSlice
	res     map[string]plog.ResourceLogs
	records int
}

// NewLogsBuilder returns an empty LogsBuilder.
func NewLogsBuilder() *LogsBuilder {
	return &LogsBuilder{ld: plog.NewLogs(), scopes: map[[2]string]plog.LogRecordSlice{}, res: map[string]plog.ResourceLogs{}}
}

// Add appends the log records of r and returns how many it added.
func (b *LogsBuilder) Add(r *Request) int {
	for i := range r.Logs {
		l := &r.Logs[i]
		lr := b.slice(l.Service, l.Target).AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(l.Time))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(l.Time))
		lr.SetSeverityNumber(l.Severity)
		lr.SetSeverityText(l.Level)
		lr.Body().SetStr(l.Message)
		lr.SetTraceID(r.TraceID)
		lr.SetSpanID(l.SpanID)
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(!r.Unsampled))
		putAttrs(lr.Attributes(), l.Attrs)
	}
	b.records += len(r.Logs)
	return len(r.Logs)
}

// Len is the number of log records added so far.
func (b *LogsBuilder) Len() int { return b.records }

// Logs returns what was added.
func (b *LogsBuilder) Logs() plog.Logs { return b.ld }

func (b *LogsBuilder) slice(service, target string) plog.LogRecordSlice {
	k := [2]string{service, target}
	if s, ok := b.scopes[k]; ok {
		return s
	}
	rl, ok := b.res[service]
	if !ok {
		rl = b.ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		b.res[service] = rl
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(target)
	b.scopes[k] = sl.LogRecords()
	return sl.LogRecords()
}

func putAttrs(m pcommon.Map, kvs []KV) {
	m.EnsureCapacity(len(kvs))
	for _, kv := range kvs {
		putValue(m.PutEmpty(kv.Key), kv.Value)
	}
}

func putValue(v pcommon.Value, val any) {
	switch x := val.(type) {
	case string:
		v.SetStr(x)
	case int64:
		v.SetInt(x)
	case int:
		v.SetInt(int64(x))
	case float64:
		v.SetDouble(x)
	case bool:
		v.SetBool(x)
	case []string:
		s := v.SetEmptySlice()
		for _, e := range x {
			s.AppendEmpty().SetStr(e)
		}
	case map[string]any:
		m := v.SetEmptyMap()
		for k, e := range x {
			putValue(m.PutEmpty(k), e)
		}
	case nil:
		// an empty value
	}
}
