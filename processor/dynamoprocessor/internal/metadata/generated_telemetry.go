package metadata

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the meter of the processor's self-telemetry.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments declared in metadata.yaml.
type TelemetryBuilder struct {
	meter                                metric.Meter
	ProcessorDynamoItemsChanged          metric.Int64Counter
	ProcessorDynamoRequestIdsPropagated  metric.Int64Counter
	ProcessorDynamoItemsHeld             metric.Int64Counter
	ProcessorDynamoUnsampledItems        metric.Int64Counter
	ProcessorDynamoHeldItems             metric.Int64UpDownCounter
	ProcessorDynamoHeldReleased          metric.Int64Counter
	ProcessorDynamoReleaseRefused        metric.Int64Counter
	ProcessorDynamoHeldRestored          metric.Int64Counter
	ProcessorDynamoStorageErrors         metric.Int64Counter
	ProcessorDynamoSpanNamesTemplated    metric.Int64Counter
	ProcessorDynamoSpanNameOverflow      metric.Int64Counter
	ProcessorDynamoSystemSpans           metric.Int64Counter
	ProcessorDynamoAttributesUnconverted metric.Int64Counter
}

// Shutdown releases the builder's resources (it registers no callbacks).
func (builder *TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates every instrument declared in metadata.yaml.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	counter := func(name, desc, unit string) metric.Int64Counter {
		var c metric.Int64Counter
		c, err = builder.meter.Int64Counter(name, metric.WithDescription(desc+" [Development]"), metric.WithUnit(unit))
		errs = errors.Join(errs, err)
		return c
	}
	builder.ProcessorDynamoItemsChanged = counter(
		"otelcol_processor_dynamo_items_changed",
		"Spans and log records the processor changed (request ids, names, semantics, numbers, trace context).",
		"{item}")
	builder.ProcessorDynamoRequestIdsPropagated = counter(
		"otelcol_processor_dynamo_request_ids_propagated",
		"Spans and log records given the x_request_id their trace carries elsewhere.",
		"{item}")
	builder.ProcessorDynamoItemsHeld = counter(
		"otelcol_processor_dynamo_items_held",
		"Spans and log records held because their trace's x_request_id was not yet known.",
		"{item}")
	builder.ProcessorDynamoUnsampledItems = counter(
		"otelcol_processor_dynamo_unsampled_items",
		"Log records of traces that are not sampled, passed on at once instead of held (no root span comes for them).",
		"{item}")
	builder.ProcessorDynamoHeldItems, err = builder.meter.Int64UpDownCounter(
		"otelcol_processor_dynamo_held_items",
		metric.WithDescription("Spans and log records held at this moment (including those released and not yet accepted downstream). [Development]"),
		metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	builder.ProcessorDynamoHeldReleased = counter(
		"otelcol_processor_dynamo_held_released",
		"Held spans and log records released, by reason (request_id = annotated; no_request_id, timeout, overflow, shutdown = unchanged).",
		"{item}")
	builder.ProcessorDynamoReleaseRefused = counter(
		"otelcol_processor_dynamo_release_refused",
		"Released spans and log records the next consumer refused after the retries; they are lost.",
		"{item}")
	builder.ProcessorDynamoHeldRestored = counter(
		"otelcol_processor_dynamo_held_restored",
		"Held spans and log records read back from propagation.storage at start, left there by a crash; they are held again or released.",
		"{item}")
	builder.ProcessorDynamoStorageErrors = counter(
		"otelcol_processor_dynamo_storage_errors",
		"Failed operations on propagation.storage, by operation (write = a batch's held items kept in memory only; delete = delivered items that a restart would deliver again; read = an unreadable entry, removed).",
		"{operation}")
	builder.ProcessorDynamoSpanNamesTemplated = counter(
		"otelcol_processor_dynamo_span_names_templated",
		"Span names whose dynamic parts (ids, numbers in paths, query strings) were templated.",
		"{span}")
	builder.ProcessorDynamoSpanNameOverflow = counter(
		"otelcol_processor_dynamo_span_name_overflow",
		"Spans renamed to the overflow name because their service reached span_names.max_per_service.",
		"{span}")
	builder.ProcessorDynamoSystemSpans = counter(
		"otelcol_processor_dynamo_system_spans",
		"http-request spans of system endpoints, by action (renamed, dropped).",
		"{span}")
	builder.ProcessorDynamoAttributesUnconverted = counter(
		"otelcol_processor_dynamo_attributes_unconverted",
		"Attribute values left as they are because their type or content did not fit a rule, by reason (not_a_number, out_of_range, unexpected_type).",
		"{attribute}")
	return &builder, errs
}
