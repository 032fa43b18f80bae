package metadata

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the meter of the loki exporter's self-telemetry.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// Tracer returns the tracer of the loki exporter.
func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer(ScopeName)
}

// Values of the reason attribute of ExporterLokiRecordsFailed.
const (
	ReasonRejected      = "rejected"
	ReasonMissingTenant = "missing_tenant"
	ReasonEncoding      = "encoding"
)

// TelemetryBuilder holds the instruments declared in metadata.yaml.
type TelemetryBuilder struct {
	meter                         metric.Meter
	ExporterLokiStreamsSent       metric.Int64Counter
	ExporterLokiEntriesSent       metric.Int64Counter
	ExporterLokiRecordsFailed     metric.Int64Counter
	ExporterLokiRequestsRejected  metric.Int64Counter
	ExporterLokiRecordsUnlabelled metric.Int64Counter
}

// TelemetryBuilderOption applies changes to the default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

// Shutdown releases the builder's resources; it has no asynchronous
// instruments, so there is nothing to unregister.
func (builder *TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates every instrument declared in metadata.yaml from
// settings.MeterProvider.
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.ExporterLokiStreamsSent, err = builder.meter.Int64Counter(
		"otelcol_exporter_loki_streams_sent",
		metric.WithDescription("Number of streams Loki accepted, counted once per push request they were part of. [Development]"),
		metric.WithUnit("{stream}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterLokiEntriesSent, err = builder.meter.Int64Counter(
		"otelcol_exporter_loki_entries_sent",
		metric.WithDescription("Number of log entries Loki accepted. [Development]"),
		metric.WithUnit("{entry}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterLokiRecordsFailed, err = builder.meter.Int64Counter(
		"otelcol_exporter_loki_records_failed",
		metric.WithDescription("Number of log records that will not be sent, by reason. [Development]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterLokiRequestsRejected, err = builder.meter.Int64Counter(
		"otelcol_exporter_loki_requests_rejected",
		metric.WithDescription("Number of push requests Loki refused with a permanent (non-429 4xx) error. [Development]"),
		metric.WithUnit("{request}"),
	)
	errs = errors.Join(errs, err)
	builder.ExporterLokiRecordsUnlabelled, err = builder.meter.Int64Counter(
		"otelcol_exporter_loki_records_unlabelled",
		metric.WithDescription("Number of log records that carried none of the configured labels and were sent with the fallback label. [Development]"),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
