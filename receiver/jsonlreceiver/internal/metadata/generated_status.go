// Package metadata holds the type, stability levels and self-telemetry of the
// jsonl receiver, as declared in metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the component type of the receiver.
	Type = component.MustNewType("jsonl")
	// ScopeName is the instrumentation scope of the receiver's telemetry and records.
	ScopeName = "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"
)

const (
	// LogsStability is the stability level of the logs signal.
	LogsStability = component.StabilityLevelAlpha
)
