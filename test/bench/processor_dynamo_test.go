package bench

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
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

// ruleToggle turns one rule of the dynamo processor off (every_rule: all of
// them, the processor then passing spans through).
type ruleToggle struct {
	name string
	off  func(*dynamoprocessor.Config)
}

var ruleToggles = []ruleToggle{
	{"request_id", func(c *dynamoprocessor.Config) { c.RequestID.Enabled = false }},
	{"propagation", func(c *dynamoprocessor.Config) { c.Propagation.Enabled = false }},
	{"span_names", func(c *dynamoprocessor.Config) {
		c.SpanNames.Canonicalize = false
		c.SpanNames.Template = false
		c.SpanNames.MaxPerService = 0
		c.SpanNames.SystemEndpoints = dynamoprocessor.SystemEndpointsKeep
	}},
	{"semantics.http", func(c *dynamoprocessor.Config) { c.Semantics.HTTP = false }},
	{"semantics.status", func(c *dynamoprocessor.Config) { c.Semantics.Status = false }},
	{"components", func(c *dynamoprocessor.Config) { c.Components.Enabled = false }},
	{"numeric_attributes", func(c *dynamoprocessor.Config) { c.NumericAttributes.Enabled = false }},
}

// everyRule is the toggle that turns every rule of ruleToggles off.
var everyRule = ruleToggle{"every_rule", func(c *dynamoprocessor.Config) {
	for _, r := range ruleToggles {
		r.off(c)
	}
}}

// ruleCostCases are the toggles BenchmarkRuleCosts measures, one rule at
// a time, then every rule.
var ruleCostCases = append(slices.Clone(ruleToggles), everyRule)

// allRules is the default configuration under the name BenchmarkRuleCosts
// gives it.
var allRules = candidate{name: "all", factory: dynamoCandidate.factory, config: dynamoCandidate.config}

// without is the default configuration with r off.
func without(r ruleToggle) candidate {
	return candidate{
		name:    "without",
		factory: dynamoCandidate.factory,
		config: func(tb testing.TB) component.Config {
			cfg := dynamoCandidate.factory.CreateDefaultConfig().(*dynamoprocessor.Config)
			r.off(cfg)
			require.NoError(tb, cfg.Validate())
			return cfg
		},
	}
}

// ruleCostWorkload is the input of BenchmarkRuleCosts: the default mix in
// batches of 12 requests (about 100 spans, the size of the pipeline
// benchmark's exports), each batch's roots in the next batch, as Dynamo
// sends them; about 1 000 requests, among them failures of every version.
func ruleCostWorkload() *Workload {
	return NewWorkload(WorkloadOptions{Batches: 1024 / 12, RequestsPerBatch: 12, Generator: DefaultGenerator(), SplitRoots: true})
}

// BenchmarkRuleCosts measures what each rule of the dynamo processor costs
// per span, as what turning it off saves: for every rule, the default
// configuration (all) and the same with that rule off (without), side by
// side on the same batches; every_rule compares the default with a
// processor that passes spans through. Costs are not additive: the rules
// share one pass over each span's attributes, and propagation acts on the
// request ids the request_id rule finds.
func BenchmarkRuleCosts(b *testing.B) {
	w := ruleCostWorkload().Freeze()
	for _, r := range ruleCostCases {
		for _, c := range []candidate{allRules, without(r)} {
			b.Run(r.name+"/"+c.name, func(b *testing.B) { benchTraces(b, c, w) })
		}
	}
}
