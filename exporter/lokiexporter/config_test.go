package lokiexporter

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/lokipush"
	"github.com/otelcol-dynamo/otelcol-dynamo/exporter/lokiexporter/internal/metadata"
)

// loadConfig loads one named case of testdata/config.yaml over the defaults.
func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestLoadDefaults(t *testing.T) {
	cfg := loadConfig(t, "defaults")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, "http://loki:3100/loki/api/v1/push", cfg.ClientConfig.Endpoint)
	assert.Equal(t, EncodingProtobuf, cfg.Encoding)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.Type(""), cfg.ClientConfig.Compression)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Equal(t, "level", cfg.Labels.Severity)
	assert.Equal(t, lokipush.LineText, cfg.Line.Format)

	opts, err := cfg.encoderOptions()
	require.NoError(t, err)
	var labels []string
	for _, l := range opts.Labels {
		labels = append(labels, l.Name)
	}
	assert.Equal(t, []string{"service_name", "dynamo_component", "dynamo_role", "k8s_namespace_name", "deployment_environment", "level"}, labels)
	var metadataNames []string
	for _, f := range opts.StructuredMetadata {
		metadataNames = append(metadataNames, f.Name)
	}
	assert.Equal(t, []string{"trace_id", "span_id", "x_request_id", "request_id"}, metadataNames)
}

func TestLoadFull(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, EncodingJSON, cfg.Encoding)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, TenantConfig{ID: "fallback-tenant", FromResourceAttribute: "k8s.namespace.name"}, cfg.Tenant)
	// A list element can be a bare attribute key or a map with a name.
	assert.Equal(t, []AttributeMapping{
		{Attribute: "service.name", Name: "service"},
		{Attribute: "k8s.pod.label.nvidia.com/dynamo-component-type"},
	}, cfg.Labels.ResourceAttributes)
	assert.Equal(t, []AttributeMapping{{Attribute: "trace_id"}, {Attribute: "x_request_id"}, {Attribute: "k8s.pod.name", Name: "pod"}}, cfg.StructuredMetadata.Attributes)
	assert.Equal(t, lokipush.LineLogfmt, cfg.Line.Format)
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime)
	assert.Equal(t, int64(100), cfg.QueueConfig.Get().QueueSize)

	opts, err := cfg.encoderOptions()
	require.NoError(t, err)
	assert.Equal(t, []lokipush.Label{
		{Name: "service", Source: lokipush.FromResource, Attribute: "service.name"},
		{Name: "k8s_pod_label_nvidia_com_dynamo_component_type", Source: lokipush.FromResource, Attribute: "k8s.pod.label.nvidia.com/dynamo-component-type"},
		{Name: "span_name", Source: lokipush.FromRecord, Attribute: "span_name"},
		{Name: "severity", Source: lokipush.FromSeverity},
	}, opts.Labels)
	assert.Equal(t, []lokipush.Field{{Attribute: "x_request_id", Name: "x_request_id"}, {Attribute: "log.file", Name: "file"}}, opts.LineAttributes)
	assert.Equal(t, "k8s.namespace.name", opts.TenantAttribute)
	assert.Equal(t, "fallback-tenant", opts.Tenant)
}

func TestLoadSeverityOnly(t *testing.T) {
	cfg := loadConfig(t, "severity_only")
	require.NoError(t, confmap.Validate(cfg))
	assert.Empty(t, cfg.Labels.ResourceAttributes)
}

func TestInvalidConfigs(t *testing.T) {
	cases := map[string]string{
		"missing_endpoint":               "endpoint must be set to Loki's push URL",
		"bad_endpoint_scheme":            `endpoint "loki:3100/loki/api/v1/push" must start with http:// or https://`,
		"bad_encoding":                   `encoding must be "protobuf" or "json", got "msgpack"`,
		"compression_with_protobuf":      `compression must be empty with encoding "protobuf"`,
		"high_cardinality_record_label":  `labels::record_attributes[0]: "x_request_id" has a new value for every request or span`,
		"high_cardinality_renamed_label": `labels::resource_attributes[0]: "trace.id" has a new value for every request or span`,
		"high_cardinality_dashed_label":  `labels::record_attributes[0]: "x-request-id" has a new value for every request or span`,
		"invalid_label_name":             `labels::resource_attributes[0]::name "service.name" is not a valid Loki label name`,
		"reserved_label_name":            `labels::resource_attributes[0]::name "__name__" starts with __`,
		"duplicate_label":                `labels::record_attributes[0]: label "service_name" is already produced by labels::resource_attributes[0]`,
		"severity_clashes_with_label":    `labels::severity: label "level" is already produced by labels::resource_attributes[0]`,
		"empty_attribute":                `structured_metadata::attributes[0]::attribute must not be empty`,
		"duplicate_metadata":             `structured_metadata::attributes[1]: name "x_request_id" is listed twice`,
		"bad_line_format":                `line::format must be text, json or logfmt, got "xml"`,
		"line_attributes_with_text":      `line::attributes is only used with line::format json or logfmt`,
		"bad_logfmt_key":                 `line::attributes[0]: "a b" cannot be a logfmt key`,
		"tenant_header_and_tenant":       `headers::X-Scope-OrgID ("team-a") and tenant::id / tenant::from_resource_attribute both set the tenant`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := loadConfig(t, name)
			err := confmap.Validate(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestEmptyListReplacesDefault(t *testing.T) {
	cfg := loadConfig(t, "no_structured_metadata")
	require.NoError(t, confmap.Validate(cfg))
	assert.Empty(t, cfg.StructuredMetadata.Attributes)
	opts, err := cfg.encoderOptions()
	require.NoError(t, err)
	assert.Empty(t, opts.StructuredMetadata)
}

// TestREADMEExamples loads every `exporters: loki:` example of README.md, so
// the documentation cannot drift from the configuration it describes.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	n := 0
	for _, b := range blocks {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(b[1], &doc), "%s", b[1])
		exporters, ok := doc["exporters"].(map[string]any)
		if !ok {
			continue
		}
		raw, ok := exporters["loki"].(map[string]any)
		if !ok {
			continue
		}
		n++
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg), "%s", b[1])
		require.NoError(t, confmap.Validate(cfg), "%s", b[1])
	}
	assert.GreaterOrEqual(t, n, 5, "README examples found")
}
