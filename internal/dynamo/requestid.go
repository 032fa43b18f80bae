package dynamo

// Request-id attribute keys.
const (
	// XRequestID is the canonical key of the caller's request id (the
	// x-request-id HTTP header). It is the only spelling that is the same in
	// Dynamo's docs, in Tempo's tag search and in Loki, which turns dots and
	// dashes into underscores.
	XRequestID = "x_request_id"

	// RequestID is the key of Dynamo's own request UUID in the new version.
	RequestID = "request_id"

	// DynamoRequestID is the mid version's key for Dynamo's request UUID.
	DynamoRequestID = "x_dynamo_request_id"

	// ContextID is where the internal context id goes when a span carries both
	// x_dynamo_request_id (the UUID) and request_id (then the context id: the
	// mid version's client_request and route spans).
	ContextID = "dynamo.context_id"

	// GenAIRequestID is vLLM's own request id. It is neither the caller's id
	// nor Dynamo's UUID and is left as it is.
	GenAIRequestID = "gen_ai.request.id"

	// HTTPHeaderXRequestID is the OpenTelemetry HTTP semantic-convention form of
	// the header. Its value is a list of strings; the first one is the id.
	HTTPHeaderXRequestID = "http.request.header.x-request-id"
)

// XRequestIDAliases are the other keys under which the caller's request id
// arrives, in the order they are consulted.
var XRequestIDAliases = []string{
	"x-request-id",
	HTTPHeaderXRequestID,
	"http.request.header.x_request_id",
	"X-Request-Id",
	"X-Request-ID",
}

// Trace-context fields of Dynamo's JSONL log lines. A log record whose trace
// context was not mapped onto the record still carries them as attributes.
const (
	TraceIDField  = "trace_id"
	SpanIDField   = "span_id"
	ParentIDField = "parent_id"
	SpanNameField = "span_name"
	// TraceFlagsField holds the W3C trace flags as two hex digits ("01":
	// sampled). The new version writes it.
	TraceFlagsField = "trace_flags"
)
