package dynamo

import "strings"

// Known span names, spelled as Dynamo's documentation spells them.
const (
	// SpanHTTPRequest is the frontend's root span of every HTTP request. Dynamo
	// uses the same name, at DEBUG level, for its system endpoints.
	SpanHTTPRequest = "http-request"
	// SpanHandlePayload is the worker's ingress span.
	SpanHandlePayload = "handle_payload"
	// SpanClientRequest is the caller side of a request between components.
	SpanClientRequest = "client_request"
	// SpanPrefillRouting, SpanKVRouterSelectWorker, SpanKVRouterRouteRequest and
	// SpanRouterRouteRequest are the router's spans.
	SpanPrefillRouting       = "prefill_routing"
	SpanKVRouterSelectWorker = "kv_router.select_worker"
	SpanKVRouterRouteRequest = "kv_router.route_request"
	SpanRouterRouteRequest   = "router.route_request"
	// SpanEngineGenerate is the worker's engine span.
	SpanEngineGenerate = "engine.generate"
	// SpanLLMRequest is vLLM's own Python tracer span.
	SpanLLMRequest = "llm_request"
)

// KnownSpanNames lists every span name Dynamo emits, in its canonical spelling.
var KnownSpanNames = []string{
	SpanHTTPRequest,
	SpanHandlePayload,
	SpanClientRequest,
	SpanPrefillRouting,
	SpanKVRouterSelectWorker,
	SpanKVRouterRouteRequest,
	SpanRouterRouteRequest,
	SpanEngineGenerate,
	SpanLLMRequest,
}

// maxSpanNameKey bounds the length of names that are looked up as variants of
// a known name: longer names cannot be one.
const maxSpanNameKey = 64

var canonicalByKey = map[string]string{}

func init() {
	for _, n := range KnownSpanNames {
		var buf [maxSpanNameKey]byte
		canonicalByKey[string(spanNameKey(n, buf[:0]))] = n
	}
}

// spanNameKey appends to dst the lower-case letters and digits of name, leaving
// out the separators '-', '_', '.' and ' '. Two spellings of a known name that
// differ only in case or separators share a key (HTTP_Request, http.request and
// HttpRequest all become "httprequest").
func spanNameKey(name string, dst []byte) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// CanonicalSpanName returns the canonical spelling of a known Dynamo span name
// written with another case or other separators (HTTP_Request → http-request,
// Handle-Payload → handle_payload, KV_Router.Select_Worker →
// kv_router.select_worker). It returns name and false when name is already
// canonical or is not a known name. It does not allocate.
func CanonicalSpanName(name string) (string, bool) {
	if IsKnownSpanName(name) {
		return name, false
	}
	if len(name) > maxSpanNameKey || len(name) == 0 {
		return name, false
	}
	var buf [maxSpanNameKey]byte
	key := spanNameKey(name, buf[:0])
	if c, ok := canonicalByKey[string(key)]; ok {
		return c, true
	}
	return name, false
}

// IsKnownSpanName reports whether name is the canonical spelling of a known
// Dynamo span name (one of KnownSpanNames). It is asked of every span, so it
// is a switch, which compares lengths and then at most a few strings, not a
// map look-up, which hashes the whole name first (a seventh of the
// processor's time per span when it was one).
func IsKnownSpanName(name string) bool {
	switch name {
	case SpanHTTPRequest, SpanHandlePayload, SpanClientRequest, SpanPrefillRouting,
		SpanKVRouterSelectWorker, SpanKVRouterRouteRequest, SpanRouterRouteRequest,
		SpanEngineGenerate, SpanLLMRequest:
		return true
	}
	return false
}

// OriginalSpanNameAttribute keeps a span's name when a limit on the number
// of distinct names replaced it.
const OriginalSpanNameAttribute = "dynamo.original_span_name"

// SystemSpanName is the name given to http-request spans of the frontend's
// system endpoints (health, liveness, metrics, model list), so that searching
// for http-request finds inference requests only.
const SystemSpanName = "http-request.system"

// SystemEndpointPaths are the frontend's system endpoints. A path matches when
// it equals one of them or continues it with '/' (so /v1/models/{model} is a
// system endpoint too); the query string is ignored.
var SystemEndpointPaths = []string{
	"/health",
	"/healthz",
	"/live",
	"/livez",
	"/ready",
	"/readyz",
	"/metrics",
	"/v1/models",
	"/openapi.json",
	"/docs",
}

// IsSystemEndpoint reports whether the request path or URI (query string
// allowed) names a system endpoint rather than an inference request.
func IsSystemEndpoint(uri string) bool {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	// An absolute URI (http://host:port/path) is reduced to its path.
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return false
		}
		uri = rest[j:]
	}
	if len(uri) > 1 && uri[len(uri)-1] == '/' {
		uri = uri[:len(uri)-1]
	}
	for _, p := range SystemEndpointPaths {
		if uri == p || (len(uri) > len(p) && uri[len(p)] == '/' && uri[:len(p)] == p) {
			return true
		}
	}
	return false
}
