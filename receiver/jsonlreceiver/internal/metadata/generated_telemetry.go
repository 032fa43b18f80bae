package metadata

import (
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Meter returns the meter the receiver's self-telemetry is recorded with.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments declared in metadata.yaml.
type TelemetryBuilder struct {
	meter                         metric.Meter
	mu                            sync.Mutex
	registrations                 []metric.Registration
	ReceiverJsonlLinesRead        metric.Int64Counter
	ReceiverJsonlRecordsEmitted   metric.Int64Counter
	ReceiverJsonlNonJSONLines     metric.Int64Counter
	ReceiverJsonlTruncatedLines   metric.Int64Counter
	ReceiverJsonlRepairedLines    metric.Int64Counter
	ReceiverJsonlEmptyLines       metric.Int64Counter
	ReceiverJsonlDeliveryRetries  metric.Int64Counter
	ReceiverJsonlDeliveryFailures metric.Int64Counter
	ReceiverJsonlCheckpointErrors metric.Int64Counter
}

// Shutdown unregisters the callbacks of asynchronous instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		reg.Unregister()
	}
}

// NewTelemetryBuilder creates every declared instrument from the settings'
// MeterProvider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ReceiverJsonlLinesRead, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_lines_read",
		metric.WithDescription("Physical lines read from files (before CRI/Docker partial lines are joined). [Development]"),
		metric.WithUnit("{lines}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlRecordsEmitted, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_records_emitted",
		metric.WithDescription("Log records accepted by the next consumer. [Development]"),
		metric.WithUnit("{records}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlNonJSONLines, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_non_json_lines",
		metric.WithDescription("Lines that were not a JSON object and became text records. [Development]"),
		metric.WithUnit("{lines}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlTruncatedLines, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_truncated_lines",
		metric.WithDescription("Lines longer than max_line_size, truncated to it (the remainder is discarded). [Development]"),
		metric.WithUnit("{lines}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlRepairedLines, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_repaired_lines",
		metric.WithDescription("Lines holding invalid UTF-8, repaired with U+FFFD. [Development]"),
		metric.WithUnit("{lines}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlEmptyLines, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_empty_lines",
		metric.WithDescription("Empty and whitespace-only lines, skipped. [Development]"),
		metric.WithUnit("{lines}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlDeliveryRetries, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_delivery_retries",
		metric.WithDescription("Retryable refusals by the next consumer; the batch was offered again after a back-off. [Development]"),
		metric.WithUnit("{retries}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlDeliveryFailures, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_delivery_failures",
		metric.WithDescription("Log records refused permanently by the next consumer (logged, then skipped). [Development]"),
		metric.WithUnit("{records}"),
	)
	errs = errors.Join(errs, err)
	builder.ReceiverJsonlCheckpointErrors, err = builder.meter.Int64Counter(
		"otelcol_receiver_jsonl_checkpoint_errors",
		metric.WithDescription("Failures to persist or restore the acknowledged read positions. [Development]"),
		metric.WithUnit("{errors}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
