package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

func TestNewTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()

	tb.ProcessorDynamoItemsChanged.Add(context.Background(), 2)
	tb.ProcessorDynamoHeldItems.Add(context.Background(), -1)
	for _, name := range []string{"otelcol_processor_dynamo_items_changed", "otelcol_processor_dynamo_held_items"} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, m.Name)
	}
	assert.Equal(t, "dynamo", Type.String())
}
