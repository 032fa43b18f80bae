package dynamo

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCanonicalSpanName(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		changed bool
	}{
		{"http-request", "http-request", false},
		{"HTTP_Request", "http-request", true},
		{"http.request", "http-request", true},
		{"HttpRequest", "http-request", true},
		{"Handle-Payload", "handle_payload", true},
		{"handle payload", "handle_payload", true},
		{"handle_payload", "handle_payload", false},
		{"Client-Request", "client_request", true},
		{"KV_Router.Select_Worker", "kv_router.select_worker", true},
		{"kv-router-route-request", "kv_router.route_request", true},
		{"Router.Route_Request", "router.route_request", true},
		{"engine-generate", "engine.generate", true},
		{"LLM_REQUEST", "llm_request", true},
		{"prefill-routing", "prefill_routing", true},
		{"GET /v1/chat/completions", "GET /v1/chat/completions", false},
		{"", "", false},
		{"something_else", "something_else", false},
	}
	for _, tt := range tests {
		got, changed := CanonicalSpanName(tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.changed, changed, tt.in)
	}
}

func TestKnownSpanNamesAreCanonicalAndDistinct(t *testing.T) {
	keys := map[string]string{}
	for _, n := range KnownSpanNames {
		assert.True(t, IsKnownSpanName(n))
		k := string(spanNameKey(n, nil))
		prev, dup := keys[k]
		assert.Falsef(t, dup, "%q and %q share the key %q", prev, n, k)
		keys[k] = n
	}
	// IsKnownSpanName's switch lists the same names: nothing else, not even
	// a name one byte longer or shorter, or another case.
	for _, n := range KnownSpanNames {
		for _, other := range []string{n[:len(n)-1], n + "x", "x" + n[1:], strings.ToUpper(n)} {
			assert.Falsef(t, IsKnownSpanName(other), "%q", other)
		}
	}
	for _, n := range []string{"", "http-request.system", "span_name_overflow", "GET /v1/models"} {
		assert.Falsef(t, IsKnownSpanName(n), "%q", n)
	}
}

// BenchmarkIsKnownSpanName compares the switch with the map it replaced, on
// every known name and three others.
func BenchmarkIsKnownSpanName(b *testing.B) {
	names := append(slices.Clone(KnownSpanNames), "POST /v1/chat/completions", "worker-{id}", "x")
	set := map[string]struct{}{}
	for _, n := range KnownSpanNames {
		set[n] = struct{}{}
	}
	var sink int
	b.Run("switch", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				if IsKnownSpanName(n) {
					sink++
				}
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				if _, ok := set[n]; ok {
					sink++
				}
			}
		}
	})
	_ = sink
}

func TestCanonicalSpanNameDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		CanonicalSpanName("HTTP_Request")
		CanonicalSpanName("handle_payload")
		CanonicalSpanName("POST /v1/chat/completions")
	})
	assert.Zero(t, allocs)
}

func TestIsSystemEndpoint(t *testing.T) {
	tests := map[string]bool{
		"/health":                             true,
		"/health?verbose=1":                   true,
		"/live":                               true,
		"/metrics":                            true,
		"/v1/models":                          true,
		"/v1/models/":                         true,
		"/v1/models/Qwen/Qwen3-0.6B":          true,
		"http://localhost:8000/health":        true,
		"/v1/chat/completions":                false,
		"/v1/completions?x=/health":           false,
		"/healthcheck":                        false,
		"/v1/modelsx":                         false,
		"":                                    false,
		"http://localhost:8000":               false,
		"http://localhost:8000/v1/embeddings": false,
	}
	for uri, want := range tests {
		assert.Equal(t, want, IsSystemEndpoint(uri), uri)
	}
}

func TestIdentityFromServiceName(t *testing.T) {
	tests := map[string]Identity{
		"dynamo-frontend":             {ComponentFrontend, ""},
		"frontend":                    {ComponentFrontend, ""},
		"dynamo-worker-vllm":          {ComponentWorker, RoleAggregated},
		"dynamo-worker-prefill":       {ComponentWorker, RolePrefill},
		"dynamo-worker-decode":        {ComponentWorker, RoleDecode},
		"dynamo-worker-vllm-prefill":  {ComponentWorker, RolePrefill},
		"dynamo-worker-sglang-decode": {ComponentWorker, RoleDecode},
		"Dynamo-Worker-TRTLLM":        {ComponentWorker, RoleAggregated},
		"prefill":                     {ComponentWorker, RolePrefill},
		"decode":                      {ComponentWorker, RoleDecode},
		"dynamo-router":               {ComponentRouter, ""},
		"kv-router":                   {ComponentRouter, ""},
		"dynamo_planner":              {ComponentPlanner, ""},
		"dynamo":                      {},
		"":                            {},
		"checkout-service":            {},
	}
	for name, want := range tests {
		assert.Equal(t, want, IdentityFromServiceName(name), name)
	}
}

func TestIdentityFromComponentField(t *testing.T) {
	assert.Equal(t, Identity{ComponentWorker, RolePrefill}, IdentityFromComponentField("prefill"))
	assert.Equal(t, Identity{ComponentWorker, RoleDecode}, IdentityFromComponentField("Decode"))
	assert.Equal(t, Identity{ComponentWorker, ""}, IdentityFromComponentField("backend"))
	assert.Equal(t, Identity{}, IdentityFromComponentField("tokenizer"))
	assert.Equal(t, RolePrefill, RoleFromDisaggRole("prefill"))
	assert.Equal(t, "", RoleFromDisaggRole("other"))
}

func TestNumericFieldsHaveAKind(t *testing.T) {
	for k, kind := range NumericFields {
		assert.Containsf(t, []NumberKind{Int, Double}, kind, k)
	}
	assert.Equal(t, Int, NumericFields["instance_id"])
	assert.Equal(t, Double, NumericFields["ttft_ms"])
	assert.Equal(t, "int", Int.String())
	assert.Equal(t, "double", Double.String())
}
