package dynamoprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestLoadDefault(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, NewFactory().CreateDefaultConfig(), cfg)
	assert.True(t, cfg.RequestID.Enabled)
	assert.True(t, cfg.RequestID.RemoveAliases)
	assert.True(t, cfg.Propagation.Enabled)
	assert.Equal(t, 5*time.Second, cfg.Propagation.Wait)
	assert.Equal(t, "rename", cfg.SpanNames.SystemEndpoints)
	assert.Equal(t, "http-request.system", cfg.SpanNames.SystemSpanName)
	assert.Equal(t, 1000, cfg.SpanNames.MaxPerService)
}

func TestLoadCustom(t *testing.T) {
	cfg, err := loadConfig(t, "custom")
	require.NoError(t, err)
	assert.Equal(t, []string{"req.id", "http.request.header.request-id"}, cfg.RequestID.Aliases)
	assert.False(t, cfg.RequestID.RemoveAliases)
	assert.Equal(t, PropagationConfig{Enabled: true, Wait: 2 * time.Second, MaxHeldItems: 5000, MaxTraces: 1000, TraceTTL: time.Minute, HoldUnsampled: true}, cfg.Propagation)
	assert.Equal(t, []SpanNameRule{{Pattern: "^GET /internal/(.*)$", Replacement: "GET /internal"}}, cfg.SpanNames.Rules)
	assert.False(t, cfg.SpanNames.Canonicalize)
	assert.False(t, cfg.SpanNames.Template)
	assert.Equal(t, "drop", cfg.SpanNames.SystemEndpoints)
	assert.Equal(t, 50, cfg.SpanNames.MaxPerService)
	assert.Equal(t, "other", cfg.SpanNames.OverflowName)
	assert.Equal(t, SemanticsConfig{}, cfg.Semantics)
	assert.Len(t, cfg.Components.Services, 2)
	assert.Equal(t, "prefill", cfg.Components.Services[1].Role)
	assert.Equal(t, map[string]string{"queue_depth": "int", "kv_hit_rate": "double"}, cfg.NumericAttributes.Extra)

	s := normalizeSettings(cfg)
	assert.Len(t, s.Rules, 1)
	assert.Len(t, s.ServiceMappings, 2)
	assert.Len(t, s.ExtraNumericFields, 2)
}

func TestLoadNoWait(t *testing.T) {
	cfg, err := loadConfig(t, "no_wait")
	require.NoError(t, err)
	assert.Zero(t, cfg.Propagation.Wait)
}

func TestLoadStorage(t *testing.T) {
	cfg, err := loadConfig(t, "storage")
	require.NoError(t, err)
	require.NotNil(t, cfg.Propagation.Storage)
	assert.Equal(t, component.MustNewIDWithName("file_storage", "queue"), *cfg.Propagation.Storage)

	def, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Nil(t, def.Propagation.Storage, "memory only by default")
}

// A malformed component ID fails when the configuration is read, naming the key.
func TestBadStorageID(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "bad_storage_id").String())
	require.NoError(t, err)
	err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "'propagation.storage'")
}

func TestInvalidConfigs(t *testing.T) {
	tests := map[string]string{
		"negative_wait":               "propagation::wait must not be negative",
		"zero_max_held_items":         "propagation::max_held_items must be greater than 0",
		"zero_max_traces":             "propagation::max_traces must be greater than 0",
		"ttl_shorter_than_wait":       "propagation::trace_ttl must not be shorter than propagation::wait",
		"bad_rule_pattern":            "span_names::rules[0]::pattern: error parsing regexp",
		"empty_rule_pattern":          "span_names::rules[0]::pattern must not be empty",
		"bad_system_endpoints":        `span_names::system_endpoints must be one of rename, drop, keep, not "hide"`,
		"empty_system_span_name":      "span_names::system_span_name must not be empty",
		"negative_max_per_service":    "span_names::max_per_service must not be negative",
		"empty_overflow_name":         "span_names::overflow_name must not be empty",
		"empty_alias":                 "request_id::aliases[0] must not be empty",
		"canonical_alias":             `request_id::aliases[0] must not be the canonical key "x_request_id"`,
		"rule_key_alias":              `request_id::aliases[1]: "x_dynamo_request_id" is read by another rule and cannot be an alias of the caller's request id`,
		"bad_service_pattern":         "components::services[0]::pattern: error parsing regexp",
		"service_without_component":   "components::services[0]::component must not be empty",
		"bad_numeric_kind":            `numeric_attributes::extra::queue_depth must be int or double, not "float"`,
		"storage_without_propagation": "propagation::storage must not be set when propagation::enabled is false",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}
