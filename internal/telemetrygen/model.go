package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// KV is one attribute or JSONL field. Value is a string, int64, float64,
// bool, []string or map[string]any. Dynamo copies span fields as strings even
// when they are numeric; event fields keep their JSON types.
type KV struct {
	Key   string
	Value any
}

// Span is one span of a generated request.
type Span struct {
	Service string
	// VLLM marks spans of vLLM's own Python tracer, exported under a second
	// resource with the same service name plus telemetry.sdk.* attributes.
	VLLM     bool
	Name     string
	SpanID   pcommon.SpanID
	ParentID pcommon.SpanID
	Kind     ptrace.SpanKind
	Start    time.Time
	End      time.Time
	Attrs    []KV
	// Error sets the span status to ERROR, as tracing-opentelemetry does for
	// a span that recorded otel.status_code=error.
	Error bool
}

// LogRecord is one OTLP log record Dynamo emits during a request. It carries
// only the event's own fields and the trace context: never x_request_id,
// span_name or span fields.
type LogRecord struct {
	Service  string
	Target   string // the Rust module path, exported as the instrumentation scope
	Time     time.Time
	Level    string
	Message  string
	SpanID   pcommon.SpanID
	Attrs    []KV
	Severity plog.SeverityNumber
}

// JSONLLine is one line Dynamo writes to a component's stderr.
type JSONLLine struct {
	Service string
	Time    time.Time
	Level   string
	File    string // empty on Python lines
	Line    int
	Target  string
	Message string
	// Fields are every other key; they are written in alphabetical order.
	Fields []KV
}

// Request is one generated inference (or system-endpoint) request with all
// the telemetry Dynamo emits for it.
type Request struct {
	Seq int
	// XRequestID is the caller's x-request-id header (empty for system
	// endpoints: probes and scrapers send none).
	XRequestID string
	// XRequestIDKey is the attribute that carries XRequestID on the root
	// span: x_request_id, as Dynamo writes it, or one of AliasKeys.
	XRequestIDKey string
	// DynamoRequestID is Dynamo's own request UUID (empty in the old version
	// and for system endpoints).
	DynamoRequestID string
	TraceID         pcommon.TraceID
	Version         Version
	Topology        Topology
	System          bool
	Failed          bool
	// Unsampled marks a request whose trace the SDKs did not sample
	// (Options.UnsampledShare): its spans are not exported, its log records
	// and the new version's JSONL lines carry the trace with the sampled
	// flag clear.
	Unsampled bool
	Start     time.Time
	// Spans holds every span; the frontend's root http-request span is last,
	// as it closes (and is exported) after all others.
	Spans []Span
	Logs  []LogRecord
	JSONL []JSONLLine
}

// Root returns the root span.
func (r *Request) Root() *Span { return &r.Spans[len(r.Spans)-1] }

// Options control what a Generator produces.
type Options struct {
	// Versions to draw from (uniformly); empty means all.
	Versions []Version
	// Topologies to draw from (uniformly); empty means all.
	Topologies []Topology
	// SystemShare is the share of requests that hit a system endpoint
	// (/health, /live, /metrics, /v1/models).
	SystemShare float64
	// FailureShare is the share of inference requests that fail.
	FailureShare float64
	// LogsPerRequest is the number of OTLP log records per inference request
	// of a version that exports logs (the new one).
	LogsPerRequest int
	// SpanEvents adds the opt-in JSONL span-event lines
	// (SPAN_CREATED/SPAN_FIRST_ENTRY and SPAN_CLOSED, DYN_LOGGING_SPAN_EVENTS).
	SpanEvents bool
	// Seed makes the output reproducible; 0 picks a random seed.
	Seed uint64
	// RequestIDPrefix starts every x_request_id; empty derives one from the
	// seed, so runs with different seeds never share ids.
	RequestIDPrefix string
	// Model is the served model name.
	Model string
	// Namespace is Dynamo's namespace on handle_payload spans.
	Namespace string
	// AliasShare is the share of inference requests whose root span carries
	// the caller's id under another spelling found in the same fleets (see
	// AliasKeys) instead of x_request_id, as other instrumentation of the
	// HTTP layer writes it.
	AliasShare float64
	// UnsampledShare is the share of requests whose trace is not sampled, as
	// with OTEL_TRACES_SAMPLE_RATIO below 1: their spans are not exported,
	// their OTLP log records are exported with the sampled flag clear, and
	// the new version's JSONL lines write trace_flags "00".
	UnsampledShare float64
	// JSONLZone, when set, writes JSONL times in this zone with their offset
	// (DYN_LOG_USE_LOCAL_TZ) instead of UTC with a Z.
	JSONLZone *time.Location
}

// XRequestIDKey is Dynamo's spelling of the caller's request id.
const XRequestIDKey = "x_request_id"

// AliasKeys are other spellings of the caller's request id seen next to
// Dynamo's: the header name, and the OpenTelemetry HTTP semantic-convention
// attribute (a list of strings).
var AliasKeys = []string{"x-request-id", "http.request.header.x-request-id"}

// DefaultModel is the model name used when Options.Model is empty.
const DefaultModel = "Qwen/Qwen3-0.6B"

// Generator builds requests. It is not safe for concurrent use.
type Generator struct {
	opts Options
	rnd  *rand.Rand
	seq  int
	// noJSONL skips building JSONL lines (a run that writes none). Building
	// them draws nothing from rnd, so spans and log records stay the same.
	noJSONL bool
}

// NewGenerator returns a Generator for opts.
func NewGenerator(opts Options) *Generator {
	if len(opts.Versions) == 0 {
		opts.Versions = Versions
	}
	if len(opts.Topologies) == 0 {
		opts.Topologies = Topologies
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64() | 1
	}
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	if opts.Namespace == "" {
		opts.Namespace = "dynamo"
	}
	rnd := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	if opts.RequestIDPrefix == "" {
		opts.RequestIDPrefix = fmt.Sprintf("tg-%08x", uint32(rnd.Uint64()))
	}
	return &Generator{opts: opts, rnd: rnd}
}

// Options returns the options in effect (with defaults filled in).
func (g *Generator) Options() Options { return g.opts }

var systemURIs = []string{"/health", "/live", "/metrics", "/v1/models"}

// Next returns the next request, starting at start.
func (g *Generator) Next(start time.Time) *Request {
	g.seq++
	r := &Request{
		Seq:      g.seq,
		TraceID:  g.traceID(),
		Version:  g.opts.Versions[g.rnd.IntN(len(g.opts.Versions))],
		Topology: g.opts.Topologies[g.rnd.IntN(len(g.opts.Topologies))],
		Start:    start.UTC(),
	}
	if g.opts.UnsampledShare > 0 {
		// Drawn only when asked for, so that other runs keep their requests.
		r.Unsampled = g.rnd.Float64() < g.opts.UnsampledShare
	}
	if g.rnd.Float64() < g.opts.SystemShare {
		g.system(r)
		return r
	}
	r.XRequestID = fmt.Sprintf("%s-%06d", g.opts.RequestIDPrefix, g.seq)
	r.XRequestIDKey = XRequestIDKey
	if g.opts.AliasShare > 0 && g.rnd.Float64() < g.opts.AliasShare {
		r.XRequestIDKey = AliasKeys[g.rnd.IntN(len(AliasKeys))]
	}
	if r.Version.dynamoIDKey() != "" {
		r.DynamoRequestID = g.uuid()
	}
	r.Failed = g.rnd.Float64() < g.opts.FailureShare
	b := &builder{g: g, r: r}
	b.build()
	return r
}

// system builds a request to a system endpoint: one http-request span at
// DEBUG level, no x-request-id, no JSONL line at the default INFO level.
func (g *Generator) system(r *Request) {
	r.System = true
	d := time.Duration(100+g.rnd.IntN(900)) * time.Microsecond
	r.Spans = []Span{{
		Service: r.Version.ServiceName(RoleFrontend),
		Name:    "http-request",
		SpanID:  g.spanID(),
		Kind:    ptrace.SpanKindUnspecified,
		Start:   r.Start,
		End:     r.Start.Add(d),
		Attrs: []KV{
			{"method", "GET"},
			{"uri", systemURIs[g.rnd.IntN(len(systemURIs))]},
			{"version", "HTTP/1.1"},
		},
	}}
}

func (g *Generator) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:8], g.rnd.Uint64())
		binary.BigEndian.PutUint64(id[8:], g.rnd.Uint64())
	}
	return id
}

func (g *Generator) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:], g.rnd.Uint64())
	}
	return id
}

func (g *Generator) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], g.rnd.Uint64())
	binary.BigEndian.PutUint64(b[8:], g.rnd.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (g *Generator) instanceID() string {
	return strconv.FormatUint(g.rnd.Uint64()>>1, 10)
}

func (g *Generator) micros(lo, hi int) time.Duration {
	return time.Duration(lo+g.rnd.IntN(hi-lo+1)) * time.Microsecond
}
