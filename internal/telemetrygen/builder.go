package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"encoding/hex"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Source locations and targets Dynamo's JSONL lines carry.
const (
	metricsFile     = "lib/llm/src/http/service/metrics.rs"
	metricsTarget   = "dynamo_llm::http::service::metrics"
	pushHandlerFile = "lib/runtime/src/pipeline/network/ingress/push_handler.rs"
	pushHandlerTgt  = "dynamo_runtime::pipeline::network::ingress::push_handler"
	loggingFile     = "lib/runtime/src/logging.rs"
	engineTarget    = "dynamo_llm::engines::vllm"
	spanEventTarget = "request_span"
	spanClosedMsg   = "SPAN_CLOSED"
)

// builder assembles the spans, log records and JSONL lines of one inference
// request.
type builder struct {
	g *Generator
	r *Request

	contextID string // the internal context id client_request calls request_id
	input     int
	output    int
	ttft      time.Duration
	// worker spans by role, for OTLP log records
	workers []workerSpans
}

type workerSpans struct {
	role    Role
	payload int // index in r.Spans
	engine  int
}

func (b *builder) build() {
	g, r := b.g, b.r
	b.contextID = g.uuid()
	b.input = 9 + g.rnd.IntN(2000)
	b.output = 1 + g.rnd.IntN(500)
	rootID := g.spanID()
	t := r.Start.Add(g.micros(20, 200))

	if r.Topology == TopologyDisaggregated {
		// prefill_routing → kv_router.select_worker, then the prefill worker.
		routing := b.span(RoleFrontend, "prefill_routing", rootID, t, g.micros(200, 1500), b.routeAttrs(nil))
		b.span(RoleFrontend, "kv_router.select_worker", routing.SpanID,
			routing.Start.Add(50*time.Microsecond), routing.End.Sub(routing.Start)-100*time.Microsecond,
			b.routeAttrs([]KV{{"worker_id", g.instanceID()}, {"dp_rank", "0"}, {"phase", "Prefill"}}))
		t = routing.End.Add(g.micros(20, 80))
		end := b.worker(RolePrefill, rootID, t, time.Duration(3+g.rnd.IntN(37))*time.Millisecond)
		b.ttft = end.Sub(r.Start)
		route := b.span(RoleFrontend, "kv_router.route_request", rootID, end.Add(g.micros(20, 80)), g.micros(100, 800),
			b.routeAttrs([]KV{{"worker_id", g.instanceID()}, {"dp_rank", "0"}, {"phase", "Decode"}}))
		t = b.worker(RoleDecode, rootID, route.End.Add(g.micros(20, 80)), time.Duration(20+g.rnd.IntN(480))*time.Millisecond)
	} else {
		name := "kv_router.route_request"
		if r.Version == VersionOld {
			name = "router.route_request"
		}
		route := b.span(RoleFrontend, name, rootID, t, g.micros(100, 800),
			b.routeAttrs([]KV{{"worker_id", g.instanceID()}, {"dp_rank", "0"}, {"phase", "Aggregated"}}))
		t = b.worker(RoleAggregated, rootID, route.End.Add(g.micros(20, 80)), time.Duration(20+g.rnd.IntN(580))*time.Millisecond)
		b.ttft = time.Duration(float64(t.Sub(r.Start)) * (0.05 + 0.2*g.rnd.Float64()))
	}

	end := t.Add(g.micros(200, 800))
	root := Span{
		Service: r.Version.ServiceName(RoleFrontend),
		Name:    "http-request",
		SpanID:  rootID,
		Kind:    ptrace.SpanKindInternal,
		Start:   r.Start,
		End:     end,
		Attrs:   b.rootAttrs(end),
		Error:   r.Failed && r.Version != VersionNew,
	}
	r.Spans = append(r.Spans, root)
	if !g.noJSONL {
		b.jsonl()
	}
	b.logs()
}

// span appends a Dynamo span of role's service and returns a copy.
func (b *builder) span(role Role, name string, parent pcommon.SpanID, start time.Time, d time.Duration, attrs []KV) Span {
	s := Span{
		Service:  b.r.Version.ServiceName(role),
		Name:     name,
		SpanID:   b.g.spanID(),
		ParentID: parent,
		Kind:     ptrace.SpanKindInternal,
		Start:    start,
		End:      start.Add(d),
		Attrs:    attrs,
	}
	b.r.Spans = append(b.r.Spans, s)
	return s
}

// worker appends client_request (frontend) → handle_payload → engine.generate
// (→ llm_request from vLLM's tracer) for one worker and returns the end of
// client_request.
func (b *builder) worker(role Role, parent pcommon.SpanID, start time.Time, d time.Duration) time.Time {
	g, r := b.g, b.r
	client := b.span(RoleFrontend, "client_request", parent, start, d, b.clientAttrs())
	hpStart := client.Start.Add(g.micros(150, 400))
	hpEnd := client.End.Add(-g.micros(100, 300))
	payload := Span{
		Service:  r.Version.ServiceName(role),
		Name:     "handle_payload",
		SpanID:   g.spanID(),
		ParentID: client.SpanID,
		Kind:     ptrace.SpanKindInternal,
		Start:    hpStart,
		End:      hpEnd,
		Attrs:    b.payloadAttrs(role),
	}
	if r.Version == VersionNew {
		payload.Kind = ptrace.SpanKindServer
	}
	r.Spans = append(r.Spans, payload)
	ws := workerSpans{role: role, payload: len(r.Spans) - 1}

	engine := Span{
		Service:  payload.Service,
		Name:     "engine.generate",
		SpanID:   g.spanID(),
		ParentID: payload.SpanID,
		Kind:     ptrace.SpanKindInternal,
		Start:    hpStart.Add(g.micros(50, 150)),
		End:      hpEnd.Add(-g.micros(50, 150)),
		Attrs:    b.engineAttrs(role),
	}
	r.Spans = append(r.Spans, engine)
	ws.engine = len(r.Spans) - 1
	b.workers = append(b.workers, ws)

	if r.Version.hasVLLMTracer() {
		llmStart := engine.Start.Add(g.micros(20, 60))
		llmEnd := engine.End.Add(-g.micros(20, 60))
		e2e := llmEnd.Sub(llmStart).Seconds()
		completion := int64(b.output)
		if role == RolePrefill {
			completion = 1
		}
		r.Spans = append(r.Spans, Span{
			Service:  payload.Service,
			VLLM:     true,
			Name:     "llm_request",
			SpanID:   g.spanID(),
			ParentID: engine.SpanID,
			Kind:     ptrace.SpanKindServer,
			Start:    llmStart,
			End:      llmEnd,
			Attrs: []KV{
				{"gen_ai.request.id", "cmpl-" + hex.EncodeToString(r.TraceID[:])[:24] + "-" + strconv.Itoa(len(b.workers)-1)},
				{"gen_ai.request.model", g.opts.Model},
				{"gen_ai.usage.prompt_tokens", int64(b.input)},
				{"gen_ai.usage.completion_tokens", completion},
				{"gen_ai.latency.time_to_first_token", e2e * (0.1 + 0.3*g.rnd.Float64())},
				{"gen_ai.latency.e2e", e2e},
			},
		})
	}
	return client.End
}

// withXRequestID appends x_request_id to the attributes of a child span when
// this version puts it there: the old version never (only the root has it),
// the mid version on every Dynamo span but engine.generate, the new version on
// every Dynamo span.
func (b *builder) withXRequestID(attrs []KV, engine bool) []KV {
	switch b.r.Version {
	case VersionOld:
		return attrs
	case VersionMid:
		if engine {
			return attrs
		}
	}
	return append(attrs, KV{"x_request_id", b.r.XRequestID})
}

func (b *builder) routeAttrs(extra []KV) []KV {
	attrs := extra
	if b.r.Version == VersionMid {
		attrs = append(attrs, KV{"request_id", b.contextID}, KV{"x_dynamo_request_id", b.r.DynamoRequestID})
	}
	return b.withXRequestID(attrs, false)
}

func (b *builder) clientAttrs() []KV {
	attrs := []KV{{"operation", "generate"}, {"request_id", b.contextID}}
	if b.r.Version == VersionMid {
		attrs = append(attrs, KV{"x_dynamo_request_id", b.r.DynamoRequestID})
	}
	return b.withXRequestID(attrs, false)
}

func (b *builder) dynamoID(attrs []KV) []KV {
	if k := b.r.Version.dynamoIDKey(); k != "" {
		attrs = append(attrs, KV{k, b.r.DynamoRequestID})
	}
	return attrs
}

func (b *builder) namespace() string {
	if b.r.Version == VersionMid {
		return "vllm-" + string(b.r.Topology)
	}
	return b.g.opts.Namespace
}

func (b *builder) payloadAttrs(role Role) []KV {
	attrs := []KV{
		{"component", role.component()},
		{"endpoint", "generate"},
		{"namespace", b.namespace()},
		{"instance_id", b.g.instanceID()},
	}
	return b.withXRequestID(b.dynamoID(attrs), false)
}

func (b *builder) engineAttrs(role Role) []KV {
	attrs := []KV{{"model", b.g.opts.Model}, {"input_tokens", strconv.Itoa(b.input)}}
	if role == RolePrefill || role == RoleDecode {
		attrs = append(attrs, KV{"disagg_role", string(role)})
	}
	return b.withXRequestID(attrs, true)
}

func (b *builder) rootAttrs(end time.Time) []KV {
	r := b.r
	attrs := []KV{
		{"method", "POST"},
		{"uri", "/v1/chat/completions"},
		{"version", "HTTP/1.1"},
		rootRequestID(r),
	}
	if r.Version == VersionOld {
		return attrs
	}
	attrs = b.dynamoID(attrs)
	attrs = append(attrs,
		KV{"model", b.g.opts.Model},
		KV{"input_tokens", strconv.Itoa(b.input)},
		KV{"output_tokens", strconv.Itoa(b.output)},
		KV{"ttft_ms", strconv.FormatFloat(float64(b.ttft.Microseconds())/1000, 'f', 2, 64)},
	)
	if r.Version == VersionNew {
		itl := float64(end.Sub(r.Start).Microseconds()) / 1000 / float64(b.output)
		outcome := "success"
		if r.Failed {
			outcome = "error"
		}
		attrs = append(attrs,
			KV{"avg_itl_ms", strconv.FormatFloat(itl, 'f', 2, 64)},
			KV{"request.outcome", outcome},
		)
	}
	return attrs
}

// rootRequestID is the caller's id as the root span carries it.
func rootRequestID(r *Request) KV {
	if r.XRequestIDKey == "http.request.header.x-request-id" {
		return KV{r.XRequestIDKey, []string{r.XRequestID}}
	}
	return KV{r.XRequestIDKey, r.XRequestID}
}

// spanFields returns the JSONL fields a line inside span s carries: the span's
// fields as strings and its trace context.
func (b *builder) spanFields(s *Span) []KV {
	fields := make([]KV, 0, len(s.Attrs)+6)
	fields = append(fields, s.Attrs...)
	fields = append(fields,
		KV{"span_id", s.SpanID.String()},
		KV{"span_name", s.Name},
		KV{"trace_id", b.r.TraceID.String()},
	)
	if !s.ParentID.IsEmpty() {
		fields = append(fields, KV{"parent_id", s.ParentID.String()})
	}
	if b.r.Version == VersionNew {
		fields = append(fields, KV{"trace_flags", b.r.traceFlags()})
		if s.Kind == ptrace.SpanKindServer {
			fields = append(fields, KV{"otel.kind", "server"})
		}
	}
	return fields
}

// traceFlags is the trace_flags field of r's JSONL lines (new version).
func (r *Request) traceFlags() string {
	if r.Unsampled {
		return "00"
	}
	return "01"
}

func (b *builder) line(s *Span, t time.Time, level, file string, lineNo int, target, msg string, fields []KV) {
	if z := b.g.opts.JSONLZone; z != nil {
		t = t.In(z)
	}
	b.r.JSONL = append(b.r.JSONL, JSONLLine{
		Service: s.Service,
		Time:    t,
		Level:   level,
		File:    b.r.Version.sourcePath(file),
		Line:    lineNo,
		Target:  target,
		Message: msg,
		Fields:  fields,
	})
}

// jsonl builds the request's JSONL lines, in time order per service.
func (b *builder) jsonl() {
	r := b.r
	root := r.Root()
	// Dynamo's own lines spell the caller's id x_request_id, whatever the
	// span carries.
	rootCtx := []KV{{"x_request_id", r.XRequestID}}
	for _, kv := range root.Attrs {
		switch kv.Key {
		case "method", "uri", "version", "request_id", "x_dynamo_request_id":
			rootCtx = append(rootCtx, kv)
		}
	}
	rootCtx = append(rootCtx,
		KV{"span_id", root.SpanID.String()}, KV{"span_name", root.Name}, KV{"trace_id", r.TraceID.String()})
	if r.Version == VersionNew {
		rootCtx = append(rootCtx, KV{"trace_flags", r.traceFlags()})
	}
	received := append([]KV{{"endpoint", "chat_completions"}, {"model", b.g.opts.Model}, {"request_type", "stream"}}, rootCtx...)
	b.line(root, r.Start.Add(15*time.Microsecond), "INFO", metricsFile, 1042, metricsTarget, "request received", received)

	if b.g.opts.SpanEvents {
		for i := range r.Spans {
			s := &r.Spans[i]
			if !s.VLLM {
				b.line(s, s.Start, "INFO", loggingFile, 418, spanEventTarget, r.Version.spanOpened(), b.spanFields(s))
			}
		}
	}

	for _, w := range b.workers {
		s := &r.Spans[w.payload]
		level, msg, lineNo := "INFO", "request received", 211
		if r.Version != VersionNew {
			level, msg, lineNo = "DEBUG", "Handling request", 187
		}
		b.line(s, s.Start.Add(10*time.Microsecond), level, pushHandlerFile, lineNo, pushHandlerTgt, msg, b.spanFields(s))
	}

	if b.g.opts.SpanEvents {
		for i := range r.Spans {
			s := &r.Spans[i]
			if s.VLLM {
				continue
			}
			d := s.End.Sub(s.Start).Microseconds()
			busy := d / 10
			fields := append(b.spanFields(s),
				KV{"time.busy_us", busy}, KV{"time.duration_us", d}, KV{"time.idle_us", d - busy})
			b.line(s, s.End, "INFO", loggingFile, 418, spanEventTarget, spanClosedMsg, fields)
		}
	}

	elapsed := strconv.FormatInt(root.End.Sub(r.Start).Milliseconds(), 10)
	done := []KV{{"elapsed_ms", elapsed}}
	level := "INFO"
	if r.Failed {
		level = "ERROR"
		done = append(done,
			KV{"error_detail", "internal server error\n\nCaused by:\n    0: stream ended before generation completed"},
			KV{"error_type", "internal"},
		)
		if r.Topology == TopologyDisaggregated {
			done = append(done, KV{"kv_transfer_params", map[string]any{"do_remote_decode": true, "remote_block_ids": nil}})
		}
		done = append(done, KV{"status", "error"})
	} else {
		done = append(done, KV{"status", "success"})
	}
	for _, kv := range rootCtx {
		switch kv.Key {
		case "span_id", "span_name", "trace_id", "trace_flags", "x_request_id":
			done = append(done, kv)
		}
	}
	b.line(root, root.End.Add(-5*time.Microsecond), level, metricsFile, 1101, metricsTarget, "request completed", done)
}

type logTemplate struct {
	span    int
	target  string
	level   string
	message string
	attrs   []KV
}

// logs builds the request's OTLP log records (new version only), cycling
// through the events of the request.
func (b *builder) logs() {
	r := b.r
	n := b.g.opts.LogsPerRequest
	if n <= 0 || !r.Version.exportsLogs() {
		return
	}
	rootIdx := len(r.Spans) - 1
	templates := []logTemplate{{
		span: rootIdx, target: metricsTarget, level: "INFO", message: "request received",
		attrs: []KV{{"endpoint", "chat_completions"}, {"model", b.g.opts.Model}, {"request_type", "stream"}},
	}}
	for _, w := range b.workers {
		templates = append(templates,
			logTemplate{span: w.payload, target: pushHandlerTgt, level: "INFO", message: "request received"},
			logTemplate{
				span: w.engine, target: engineTarget, level: "INFO", message: "generation finished",
				attrs: []KV{{"num_tokens", int64(b.output)}, {"role", string(w.role)}},
			})
	}
	done := logTemplate{
		span: rootIdx, target: metricsTarget, level: "INFO", message: "request completed",
		attrs: []KV{{"status", "success"}},
	}
	if r.Failed {
		done.level = "ERROR"
		done.attrs = []KV{{"error_type", "internal"}, {"status", "error"}}
	}
	templates = append(templates, done)

	for i := 0; i < n; i++ {
		tpl := templates[i%len(templates)]
		s := &r.Spans[tpl.span]
		// Spread records over the span, never two at the same instant.
		frac := float64(i/len(templates)+1) / float64(n/len(templates)+2)
		t := s.Start.Add(time.Duration(float64(s.End.Sub(s.Start)) * frac)).Add(time.Duration(i) * time.Microsecond)
		r.Logs = append(r.Logs, LogRecord{
			Service:  s.Service,
			Target:   tpl.target,
			Time:     t,
			Level:    tpl.level,
			Message:  tpl.message,
			SpanID:   s.SpanID,
			Attrs:    tpl.attrs,
			Severity: severity(tpl.level),
		})
	}
}

func severity(level string) plog.SeverityNumber {
	switch level {
	case "ERROR":
		return plog.SeverityNumberError
	case "WARN":
		return plog.SeverityNumberWarn
	case "DEBUG":
		return plog.SeverityNumberDebug
	case "TRACE":
		return plog.SeverityNumberTrace
	default:
		return plog.SeverityNumberInfo
	}
}
