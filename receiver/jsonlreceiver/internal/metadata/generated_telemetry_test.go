package metadata

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/metric"
	"gopkg.in/yaml.v3"
)

// Every metric declared in metadata.yaml is created by the builder, and the
// builder creates nothing undeclared.
func TestTelemetryBuilderMatchesMetadata(t *testing.T) {
	b, err := os.ReadFile("../../metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Type      string `yaml:"type"`
		Telemetry struct {
			Metrics map[string]any `yaml:"metrics"`
		} `yaml:"telemetry"`
	}
	require.NoError(t, yaml.Unmarshal(b, &md))
	assert.Equal(t, Type.String(), md.Type)

	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()

	counters := 0
	v := reflect.ValueOf(tb).Elem()
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if c, ok := v.Field(i).Interface().(metric.Int64Counter); ok {
			c.Add(context.Background(), 1)
			counters++
		}
	}
	assert.Equal(t, len(md.Telemetry.Metrics), counters)
	for name := range md.Telemetry.Metrics {
		_, err := tel.GetMetric("otelcol_" + name)
		assert.NoError(t, err, "metadata.yaml declares %s", name)
	}
}
