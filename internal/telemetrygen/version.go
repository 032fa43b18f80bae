package telemetrygen // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"

import (
	"fmt"
	"strings"
)

// Version is one of the Dynamo versions found in the field at the same time.
// They differ in service names, in which spans carry the caller's
// x_request_id, in the name of Dynamo's own request id, in span kinds and in
// the JSONL span-event messages.
type Version string

const (
	// VersionOld is Dynamo from 2025: bare service names (frontend, prefill,
	// decode), no Dynamo request id, x_request_id on the frontend's root span
	// only (child spans did not inherit it), SPAN_CREATED span events, no OTLP
	// log export.
	VersionOld Version = "old"
	// VersionMid is Dynamo from early 2026: dynamo-frontend and
	// dynamo-worker-vllm-{prefill,decode}, Dynamo's id as x_dynamo_request_id
	// (route and client_request spans also carry request_id, the internal
	// context id), x_request_id on every Dynamo span except engine.generate,
	// absolute source paths in JSONL, no OTLP log export.
	VersionMid Version = "mid"
	// VersionNew is Dynamo from mid 2026 on: dynamo-worker-{prefill,decode},
	// Dynamo's id as request_id, x_request_id on every Dynamo span,
	// handle_payload of kind SERVER, trace_flags in JSONL, request.outcome on
	// the root span, and OTLP log records (which do not carry x_request_id).
	VersionNew Version = "new"
)

// Versions lists every version, oldest first.
var Versions = []Version{VersionOld, VersionMid, VersionNew}

// Topology is how a request is served.
type Topology string

const (
	// TopologyAggregated is one worker doing prefill and decode.
	TopologyAggregated Topology = "agg"
	// TopologyDisaggregated is a prefill worker followed by a decode worker.
	TopologyDisaggregated Topology = "disagg"
)

// Topologies lists every topology.
var Topologies = []Topology{TopologyAggregated, TopologyDisaggregated}

// Mix is the value of a version or topology option that picks one at random
// for every request.
const Mix = "mix"

// ParseVersions parses "old", "mid", "new", "mix" or a comma-separated list.
func ParseVersions(s string) ([]Version, error) {
	if s == "" || s == Mix {
		return Versions, nil
	}
	var out []Version
	for _, p := range strings.Split(s, ",") {
		v := Version(strings.TrimSpace(p))
		switch v {
		case VersionOld, VersionMid, VersionNew:
			out = append(out, v)
		default:
			return nil, fmt.Errorf("unknown version %q (want old, mid, new or mix)", p)
		}
	}
	return out, nil
}

// ParseTopologies parses "agg", "disagg", "mix" or a comma-separated list.
func ParseTopologies(s string) ([]Topology, error) {
	if s == "" || s == Mix {
		return Topologies, nil
	}
	var out []Topology
	for _, p := range strings.Split(s, ",") {
		t := Topology(strings.TrimSpace(p))
		switch t {
		case TopologyAggregated, TopologyDisaggregated:
			out = append(out, t)
		default:
			return nil, fmt.Errorf("unknown topology %q (want agg, disagg or mix)", p)
		}
	}
	return out, nil
}

// Role is a component's part in serving a request.
type Role string

const (
	RoleFrontend   Role = "frontend"
	RoleAggregated Role = "aggregated"
	RolePrefill    Role = "prefill"
	RoleDecode     Role = "decode"
)

// ServiceName returns the OTEL_SERVICE_NAME a component of this version
// reports.
func (v Version) ServiceName(r Role) string {
	switch v {
	case VersionOld:
		switch r {
		case RoleFrontend:
			return "frontend"
		case RoleAggregated:
			return "dynamo" // OTEL_SERVICE_NAME unset: Dynamo's default
		default:
			return string(r)
		}
	case VersionMid:
		switch r {
		case RoleFrontend:
			return "dynamo-frontend"
		case RoleAggregated:
			return "dynamo-worker-vllm"
		default:
			return "dynamo-worker-vllm-" + string(r)
		}
	default:
		switch r {
		case RoleFrontend:
			return "dynamo-frontend"
		case RoleAggregated:
			return "dynamo-worker-vllm"
		default:
			return "dynamo-worker-" + string(r)
		}
	}
}

// component is the handle_payload "component" attribute of a worker role.
func (r Role) component() string {
	if r == RoleAggregated {
		return "backend"
	}
	return string(r)
}

// dynamoIDKey is the attribute that holds Dynamo's own request UUID, or "" when
// the version has none.
func (v Version) dynamoIDKey() string {
	switch v {
	case VersionMid:
		return "x_dynamo_request_id"
	case VersionNew:
		return "request_id"
	default:
		return ""
	}
}

// spanOpened is the JSONL message of the event written when a span starts.
func (v Version) spanOpened() string {
	if v == VersionOld {
		return "SPAN_CREATED"
	}
	return "SPAN_FIRST_ENTRY"
}

// exportsLogs reports whether this version exports OTLP log records.
func (v Version) exportsLogs() bool { return v == VersionNew }

// hasVLLMTracer reports whether the workers of this version run vLLM's own
// OpenTelemetry tracer next to Dynamo's (a second resource with the same
// service name, emitting llm_request spans).
func (v Version) hasVLLMTracer() bool { return v != VersionOld }

// sourcePath returns the "file" of a JSONL line: relative in old and new
// builds, absolute in the mid version's container images.
func (v Version) sourcePath(rel string) string {
	if v == VersionMid {
		return "/opt/dynamo/" + rel
	}
	return rel
}
