// Package metadata holds the dynamo processor's type, stability and
// self-telemetry, as declared in metadata.yaml.
package metadata // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the processor's type in configuration.
	Type = component.MustNewType("dynamo")
	// ScopeName is the instrumentation scope of the self-telemetry.
	ScopeName = "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
)

const (
	TracesStability = component.StabilityLevelAlpha
	LogsStability   = component.StabilityLevelAlpha
)
