package lokiexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/lokipush"
	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/metadata"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

const (
	defaultTimeout       = 30 * time.Second
	defaultSeverityLabel = "level"
)

// defaultResourceLabels are few-valued resource attributes that say where a
// line comes from.
func defaultResourceLabels() []AttributeMapping {
	return []AttributeMapping{
		{Attribute: "service.name", Name: "service_name"},
		{Attribute: dynamo.ComponentAttribute},
		{Attribute: dynamo.RoleAttribute},
		{Attribute: "k8s.namespace.name"},
		{Attribute: "deployment.environment"},
	}
}

// defaultStructuredMetadata are the per-request and per-span ids that link a
// line to its trace and its request.
func defaultStructuredMetadata() []AttributeMapping {
	return []AttributeMapping{
		{Attribute: "trace_id"},
		{Attribute: "span_id"},
		{Attribute: dynamo.XRequestID},
		{Attribute: dynamo.RequestID},
	}
}

// NewFactory returns the factory of the loki exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	return &Config{
		ClientConfig: client,
		QueueConfig:  configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:  configretry.NewDefaultBackOffConfig(),
		Encoding:     EncodingProtobuf,
		Labels: LabelsConfig{
			ResourceAttributes: defaultResourceLabels(),
			Severity:           defaultSeverityLabel,
		},
		StructuredMetadata: StructuredMetadataConfig{Attributes: defaultStructuredMetadata()},
		Line:               LineConfig{Format: lokipush.LineText},
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newLokiExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg,
		exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The deadline of one attempt comes from the helper; the HTTP client
		// itself is built without a timeout (see start).
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: c.ClientConfig.Timeout}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
