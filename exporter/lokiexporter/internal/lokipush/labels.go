package lokipush

import (
	"strings"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// SanitizeLabelName turns s into a valid Loki label name
// ([a-zA-Z_][a-zA-Z0-9_]*): every other character becomes an underscore, and a
// name that starts with a digit gets a leading underscore. This is what Loki
// itself does to OTLP attribute names, so `service.name` becomes
// `service_name` and `x-request-id` becomes `x_request_id`.
func SanitizeLabelName(s string) string {
	if s == "" {
		return ""
	}
	valid := true
	for i := 0; i < len(s); i++ {
		if !isLabelChar(s[i], i == 0) {
			valid = false
			break
		}
	}
	if valid {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	if s[0] >= '0' && s[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isLabelChar(c, false) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func isLabelChar(c byte, first bool) bool {
	switch {
	case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case c >= '0' && c <= '9':
		return !first
	default:
		return false
	}
}

// highCardinality lists keys that take a new value for every request or span.
// As labels they would create one Loki stream per request, which Loki refuses
// or answers with degraded performance; they belong in structured metadata.
var highCardinality = map[string]bool{
	dynamo.XRequestID:                        true,
	dynamo.RequestID:                         true,
	dynamo.DynamoRequestID:                   true,
	SanitizeLabelName(dynamo.ContextID):      true,
	SanitizeLabelName(dynamo.GenAIRequestID): true,
	"trace_id":                               true,
	"span_id":                                true,
	"parent_id":                              true,
}

// IsHighCardinality reports whether the attribute key or label name names a
// per-request or per-span identifier (after sanitising, so `x-request-id` and
// `x_request_id` are the same key).
func IsHighCardinality(name string) bool {
	return highCardinality[strings.ToLower(SanitizeLabelName(name))]
}
