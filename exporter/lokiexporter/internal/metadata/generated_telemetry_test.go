package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

func TestTelemetryBuilderCreatesDeclaredCounters(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()

	ctx := context.Background()
	tb.ExporterLokiStreamsSent.Add(ctx, 1)
	tb.ExporterLokiEntriesSent.Add(ctx, 2)
	tb.ExporterLokiRecordsFailed.Add(ctx, 3)
	tb.ExporterLokiRequestsRejected.Add(ctx, 4)
	tb.ExporterLokiRecordsUnlabelled.Add(ctx, 5)
	for _, name := range []string{
		"otelcol_exporter_loki_streams_sent",
		"otelcol_exporter_loki_entries_sent",
		"otelcol_exporter_loki_records_failed",
		"otelcol_exporter_loki_requests_rejected",
		"otelcol_exporter_loki_records_unlabelled",
	} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, m.Description, name)
	}
	assert.Equal(t, "loki", Type.String())
}
