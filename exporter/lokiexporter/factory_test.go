package lokiexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "loki", f.Type().String())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())

	cfg := f.CreateDefaultConfig().(*Config)
	assert.ErrorContains(t, cfg.Validate(), "endpoint must be set", "there is no default endpoint")
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/loki/api/v1/push"
	require.NoError(t, cfg.Validate())

	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestFactoryRefusesInvalidLabels(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/loki/api/v1/push"
	cfg.Labels.RecordAttributes = []AttributeMapping{{Attribute: "trace_id"}}
	_, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.ErrorContains(t, err, `"trace_id" has a new value for every request or span`)
}
