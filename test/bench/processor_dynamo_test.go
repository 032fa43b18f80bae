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

// holdUnsampledCandidate is the dynamo processor holding the log records of
// traces that are not sampled like any other (propagation.hold_unsampled),
// as it did before it told them apart.
var holdUnsampledCandidate = candidate{
	name:    "hold_unsampled",
	factory: dynamoprocessor.NewFactory(),
	config: func(testing.TB) component.Config {
		cfg := dynamoprocessor.NewFactory().CreateDefaultConfig().(*dynamoprocessor.Config)
		cfg.Propagation.HoldUnsampled = true
		return cfg
	},
}

// BenchmarkUnsampledRecords measures what passing on the log records of
// traces that are not sampled saves: the requests of BenchmarkProcessor with
// one trace in ten sampled, through the default configuration and through
// one that holds those records too (until max_held_items pushes them out,
// or Shutdown).
func BenchmarkUnsampledRecords(b *testing.B) {
	whole := processorWorkload(false).Freeze()
	for _, c := range []candidate{dynamoCandidate, holdUnsampledCandidate} {
		b.Run("requests_sampled/"+c.name, func(b *testing.B) { benchRequests(b, c, whole, 10) })
	}
}
