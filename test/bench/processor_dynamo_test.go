package bench

import (
	"testing"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"
)

// dynamoCandidate is the dynamo processor with its default configuration
// (`dynamo:` and nothing else), as every shipped configuration uses it.
var dynamoCandidate = candidate{
	name:    "dynamo",
	factory: dynamoprocessor.NewFactory(),
	config:  func(testing.TB) component.Config { return dynamoprocessor.NewFactory().CreateDefaultConfig() },
}

func init() {
	processorCandidates = append([]candidate{dynamoCandidate}, processorCandidates...)
}
