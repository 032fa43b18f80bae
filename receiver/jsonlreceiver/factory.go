package jsonlreceiver // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

const (
	defaultStartAt      = StartAtEnd
	defaultPollInterval = 200 * time.Millisecond
	defaultFormat       = FormatAuto
	defaultMaxLineSize  = 1 << 20 // 1 MiB
	defaultServiceName  = "dynamo"
)

// NewFactory returns the factory of the jsonl receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		StartAt:      defaultStartAt,
		PollInterval: defaultPollInterval,
		Format:       defaultFormat,
		MaxLineSize:  defaultMaxLineSize,
		ServiceName:  defaultServiceName,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newJSONLReceiver(set, cfg.(*Config), next)
}
