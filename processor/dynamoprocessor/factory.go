package dynamoprocessor // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
)

const (
	defaultWait          = 5 * time.Second
	defaultMaxHeldItems  = 100000
	defaultMaxTraces     = 100000
	defaultTraceTTL      = 10 * time.Minute
	defaultMaxPerService = 1000
	defaultOverflowName  = "span_name_overflow"
)

// NewFactory returns a factory for the dynamo processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		RequestID: RequestIDConfig{
			Enabled:       true,
			RemoveAliases: true,
		},
		Propagation: PropagationConfig{
			Enabled:      true,
			Wait:         defaultWait,
			MaxHeldItems: defaultMaxHeldItems,
			MaxTraces:    defaultMaxTraces,
			TraceTTL:     defaultTraceTTL,
		},
		SpanNames: SpanNamesConfig{
			Canonicalize:    true,
			Template:        true,
			SystemEndpoints: SystemEndpointsRename,
			SystemSpanName:  dynamo.SystemSpanName,
			MaxPerService:   defaultMaxPerService,
			OverflowName:    defaultOverflowName,
		},
		Semantics:         SemanticsConfig{HTTP: true, Status: true},
		Components:        ComponentsConfig{Enabled: true},
		NumericAttributes: NumericAttributesConfig{Enabled: true},
	}
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return newTracesProcessor(set, cfg.(*Config), next)
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return newLogsProcessor(set, cfg.(*Config), next)
}
