package dynamo

import (
	"strings"
	"testing"
)

// FuzzCanonicalSpanName: any name is either left alone or mapped onto a
// known canonical name, and the mapping is stable.
func FuzzCanonicalSpanName(f *testing.F) {
	for _, s := range []string{
		"http-request", "HTTP_Request", "handle_payload", "Handle-Payload", "KV_Router.Select_Worker",
		"kv_router.route_request", "engine.generate", "llm_request", "client_request", "", "-", "..", "\xff\xfe",
		strings.Repeat("a", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, changed := CanonicalSpanName(name)
		if !changed {
			if c != name {
				t.Fatalf("unchanged but %q became %q", name, c)
			}
			return
		}
		if !IsKnownSpanName(c) {
			t.Fatalf("%q mapped onto %q, which is not a known span name", name, c)
		}
		if again, changedAgain := CanonicalSpanName(c); changedAgain || again != c {
			t.Fatalf("not stable: %q -> %q -> %q", name, c, again)
		}
	})
}

// FuzzIsSystemEndpoint: no panic on any URI, and a query string or a
// trailing slash never changes the answer for a path without them.
func FuzzIsSystemEndpoint(f *testing.F) {
	for _, s := range []string{
		"/health", "/v1/models", "/v1/models/Qwen/Qwen3-0.6B", "/v1/chat/completions", "http://host:8000/metrics?x=1",
		"://", "?", "/", "", "http://", "/healthz/", "/v1/modelsx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		got := IsSystemEndpoint(uri)
		if strings.ContainsAny(uri, "?:") || strings.HasSuffix(uri, "/") || uri == "" {
			return
		}
		if IsSystemEndpoint(uri+"?a=b") != got {
			t.Fatalf("a query string changed the answer for %q", uri)
		}
		if IsSystemEndpoint(uri+"/") != got {
			t.Fatalf("a trailing slash changed the answer for %q", uri)
		}
	})
}

// FuzzIdentity: service names and component fields of any shape give a
// known component (or none) and, for workers only, a known role.
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{
		"dynamo-frontend", "dynamo-worker-prefill", "dynamo-worker-vllm-prefill", "dynamo-worker-sglang-decode",
		"frontend", "prefill", "decode", "dynamo", "backend", "", "-_./ ", "DYNAMO-WORKER-AGG", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range []Identity{IdentityFromServiceName(s), IdentityFromComponentField(s)} {
			if id.Role != "" && id.Component != ComponentWorker {
				t.Fatalf("%q: role %q on component %q", s, id.Role, id.Component)
			}
		}
		_ = RoleFromDisaggRole(s)
	})
}
