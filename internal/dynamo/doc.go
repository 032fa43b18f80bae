// Package dynamo holds what this distribution knows about NVIDIA Dynamo's
// telemetry, in one place: the span names Dynamo emits and their canonical
// spellings, the attribute keys under which request ids arrive, the system
// endpoints of the HTTP frontend, the service-name patterns that identify a
// component and its role, and the span fields Dynamo writes as strings although
// they are numbers.
//
// The facts come from Dynamo's source and documentation across the three
// versions that run side by side in the field (old: before OpenTelemetry, mid:
// early 2026, new: mid 2026 on). Components use these tables; they do not
// repeat the literals.
package dynamo // import "github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
