package dynamo

// Fields of the frontend's http-request span.
const (
	// MethodField is the HTTP method (POST).
	MethodField = "method"
	// URIField is the request URI, path and query string
	// (/v1/chat/completions).
	URIField = "uri"
	// VersionField is the HTTP version as the request line spells it
	// (HTTP/1.1).
	VersionField = "version"
)

// Fields that record a failure. Dynamo sets them on any span.
const (
	// OutcomeField is the request's outcome: success, cancelled, or a failure
	// (error, timeout, …).
	OutcomeField = "request.outcome"
	// OtelStatusCodeField is tracing-opentelemetry's way to set a span's
	// status from a field (ok, error).
	OtelStatusCodeField = "otel.status_code"
	// OtelStatusDescriptionField goes with OtelStatusCodeField.
	OtelStatusDescriptionField = "otel.status_description"
	// ErrorTypeField is the semantic-convention error class.
	ErrorTypeField = "error.type"
)

// Outcomes that are not failures.
const (
	OutcomeSuccess   = "success"
	OutcomeCancelled = "cancelled"
)
