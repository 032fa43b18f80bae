// Package metadata holds the type, stability and self-telemetry of the loki
// exporter, as declared in its metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type of the loki exporter.
	Type = component.MustNewType("loki")
	// ScopeName is the instrumentation scope of its self-telemetry.
	ScopeName = "github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter"
)

const (
	// LogsStability is the stability of the logs signal.
	LogsStability = component.StabilityLevelAlpha
)
