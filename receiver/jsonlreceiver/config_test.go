package jsonlreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestUnmarshalDefaultConfig(t *testing.T) {
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, confmap.New().Unmarshal(&cfg))
	assert.Equal(t, factory.CreateDefaultConfig(), cfg)
	assert.Equal(t, metadata.Type, factory.Type())
}

func TestDefaults(t *testing.T) {
	cfg := loadConfig(t, "defaults")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, []string{"/var/log/dynamo/*.log"}, cfg.Include)
	assert.Equal(t, StartAtEnd, cfg.StartAt)
	assert.Equal(t, 200*time.Millisecond, cfg.PollInterval)
	assert.Equal(t, FormatAuto, cfg.Format)
	assert.Equal(t, helper.ByteSize(1<<20), cfg.MaxLineSize)
	assert.Equal(t, "dynamo", cfg.ServiceName)
	assert.Nil(t, cfg.Storage)
	assert.Empty(t, cfg.Resource)
}

func TestFullConfig(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(cfg))
	storage := component.MustNewIDWithName("file_storage", "jsonl")
	want := createDefaultConfig().(*Config)
	want.Include = []string{"/var/log/pods/*/*/*.log", "/var/log/dynamo/**/*.jsonl"}
	want.Exclude = []string{"/var/log/pods/kube-system_*/*/*.log"}
	want.StartAt = StartAtBeginning
	want.PollInterval = 500 * time.Millisecond
	want.Format = FormatCRI
	want.MaxLineSize = 256 << 10
	want.Storage = &storage
	want.ServiceName = "dynamo-worker"
	want.Resource = map[string]string{
		"deployment.environment.name":             "staging",
		"nvidia.com/dynamo-graph-deployment-name": "qwen",
	}
	assert.Equal(t, want, cfg)
}

func TestInvalidConfigs(t *testing.T) {
	for name, wantErr := range map[string]string{
		"no_include":         "include: at least one glob pattern is required",
		"bad_glob":           `include: "/var/log/[.log" is not a valid glob pattern`,
		"bad_exclude":        `exclude: "/var/log/[.log" is not a valid glob pattern`,
		"bad_start_at":       `start_at: must be "beginning" or "end", got "middle"`,
		"bad_poll_interval":  "poll_interval: must be positive",
		"bad_format":         `format: must be one of "auto", "raw", "cri", "docker", got "syslog"`,
		"bad_max_line_size":  "max_line_size: must be positive",
		"huge_max_line_size": "max_line_size: must be at most",
		"empty_service_name": "service_name: must not be empty",
		"empty_resource_key": "resource: attribute names must not be empty",
	} {
		t.Run(name, func(t *testing.T) {
			err := confmap.Validate(loadConfig(t, name))
			require.Error(t, err)
			assert.Contains(t, err.Error(), wantErr)
		})
	}
}
