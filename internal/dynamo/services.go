package dynamo

import "strings"

// Resource attribute keys the distribution adds, and their values.
const (
	// ComponentAttribute names the Dynamo component that emitted the data.
	ComponentAttribute = "dynamo.component"
	// RoleAttribute names a worker's role.
	RoleAttribute = "dynamo.role"

	ComponentFrontend = "frontend"
	ComponentRouter   = "router"
	ComponentWorker   = "worker"
	ComponentPlanner  = "planner"

	RolePrefill    = "prefill"
	RoleDecode     = "decode"
	RoleAggregated = "aggregated"
)

// Attribute keys on spans and log records that tell the component.
const (
	// ComponentField is the Dynamo component name on worker spans and JSONL
	// lines: backend, prefill, decode.
	ComponentField = "component"
	// DisaggRoleField is the role on engine.generate spans.
	DisaggRoleField = "disagg_role"
)

// Identity is a Dynamo component and, for workers, its role. Empty fields are
// unknown.
type Identity struct {
	Component string
	Role      string
}

// engineTokens are the inference engines that appear in worker service names.
var engineTokens = map[string]struct{}{
	"vllm": {}, "sglang": {}, "trtllm": {}, "tensorrt": {}, "llamacpp": {}, "mocker": {},
}

// IdentityFromServiceName derives the component and role from a service name.
// It knows every spelling seen in Dynamo's docs and samples:
//
//	dynamo-frontend, frontend                           → frontend
//	dynamo-router, router, kv-router                    → router
//	dynamo-planner, planner                             → planner
//	dynamo-worker-prefill, dynamo-worker-vllm-prefill,
//	dynamo-worker-sglang-prefill, prefill                → worker, prefill
//	dynamo-worker-decode, dynamo-worker-sglang-decode,
//	decode                                              → worker, decode
//	dynamo-worker-vllm, dynamo-worker, vllm-worker,
//	dynamo-worker-agg                                   → worker, aggregated
//	dynamo (the default), anything else                 → unknown
//
// The name is split into tokens at '-', '_', '.', '/' and ' ' and compared
// without regard to case.
func IdentityFromServiceName(name string) Identity {
	var id Identity
	worker := false
	rest := name
	for len(rest) > 0 {
		i := strings.IndexAny(rest, "-_./ ")
		tok := rest
		if i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		switch {
		case strings.EqualFold(tok, "frontend"):
			if id.Component == "" {
				id.Component = ComponentFrontend
			}
		case strings.EqualFold(tok, "router"):
			if id.Component == "" {
				id.Component = ComponentRouter
			}
		case strings.EqualFold(tok, "planner"):
			if id.Component == "" {
				id.Component = ComponentPlanner
			}
		case strings.EqualFold(tok, "worker"), strings.EqualFold(tok, "backend"):
			worker = true
		case strings.EqualFold(tok, "prefill"):
			worker, id.Role = true, RolePrefill
		case strings.EqualFold(tok, "decode"):
			worker, id.Role = true, RoleDecode
		case strings.EqualFold(tok, "agg"), strings.EqualFold(tok, "aggregated"):
			worker, id.Role = true, RoleAggregated
		default:
			if isEngineToken(tok) {
				worker = true
			}
		}
	}
	if worker && id.Component == "" {
		id.Component = ComponentWorker
		if id.Role == "" {
			id.Role = RoleAggregated
		}
	}
	if id.Component != ComponentWorker {
		id.Role = ""
	}
	return id
}

func isEngineToken(tok string) bool {
	if len(tok) > 16 {
		return false
	}
	var buf [16]byte
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := engineTokens[string(buf[:len(tok)])]
	return ok
}

// IdentityFromComponentField derives the component and role from the value of
// a span's or log line's component field (backend, prefill, decode, frontend,
// router…). The role of a backend is not known from the field alone.
func IdentityFromComponentField(v string) Identity {
	switch strings.ToLower(v) {
	case "prefill":
		return Identity{Component: ComponentWorker, Role: RolePrefill}
	case "decode":
		return Identity{Component: ComponentWorker, Role: RoleDecode}
	case "backend", "worker":
		return Identity{Component: ComponentWorker}
	case "frontend":
		return Identity{Component: ComponentFrontend}
	case "router", "kv_router", "kv-router":
		return Identity{Component: ComponentRouter}
	case "planner":
		return Identity{Component: ComponentPlanner}
	}
	return Identity{}
}

// RoleFromDisaggRole maps the disagg_role field of engine.generate spans to a
// role; it returns "" for values it does not know.
func RoleFromDisaggRole(v string) string {
	switch strings.ToLower(v) {
	case "prefill":
		return RolePrefill
	case "decode":
		return RoleDecode
	case "aggregated", "agg", "none":
		return RoleAggregated
	}
	return ""
}
