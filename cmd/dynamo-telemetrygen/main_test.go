package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/telemetrygen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "localhost:4317", o.cfg.OTLP.Endpoint)
	assert.False(t, o.cfg.OTLP.HTTP)
	assert.Equal(t, 1, o.cfg.Requests)
	assert.Equal(t, telemetrygen.Versions, o.cfg.Generator.Versions)
	assert.Equal(t, telemetrygen.Topologies, o.cfg.Generator.Topologies)
	assert.Equal(t, telemetrygen.FormatRaw, o.cfg.JSONL.Format)

	o, err = parseFlags([]string{"--otlp-http"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "localhost:4318", o.cfg.OTLP.Endpoint)
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{
		"--otlp-endpoint", "http://gw:4318", "--otlp-http", "--otlp-header", "X-Scope-OrgID=team-a",
		"--rate", "50", "--duration", "30s", "--topology", "disagg", "--version", "mid",
		"--system-share", "0.1", "--failure-share", "0.05", "--logs", "4",
		"--jsonl-dir", "/tmp/x", "--jsonl-format", "cri", "--rotate-bytes", "1048576",
		"--manifest", "/tmp/m.json", "--seed", "7", "--noise-every", "50", "--jsonl-utc-offset", "-5h",
	}, &bytes.Buffer{})
	require.NoError(t, err)
	c := o.cfg
	assert.True(t, c.OTLP.Insecure, "an http:// endpoint is plaintext")
	assert.Equal(t, map[string]string{"X-Scope-OrgID": "team-a"}, c.OTLP.Headers)
	assert.Equal(t, 50.0, c.Rate)
	assert.Equal(t, 30*time.Second, c.Duration)
	assert.Zero(t, c.Requests, "--duration alone replaces the default request count")
	assert.Equal(t, []telemetrygen.Topology{telemetrygen.TopologyDisaggregated}, c.Generator.Topologies)
	assert.Equal(t, []telemetrygen.Version{telemetrygen.VersionMid}, c.Generator.Versions)
	assert.Equal(t, 4, c.Generator.LogsPerRequest)
	assert.Equal(t, telemetrygen.FormatCRI, c.JSONL.Format)
	assert.Equal(t, int64(1048576), c.JSONL.RotateBytes)
	assert.Equal(t, "/tmp/m.json", o.manifestPath)
	assert.Equal(t, uint64(7), c.Generator.Seed)
	assert.Equal(t, 50, c.NoiseEvery)
	require.NotNil(t, c.Generator.JSONLZone)
	_, offset := time.Date(2026, 7, 30, 0, 0, 0, 0, c.Generator.JSONLZone).Zone()
	assert.Equal(t, -5*3600, offset)

	o, err = parseFlags([]string{"--jsonl-dir", "/tmp/x"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Empty(t, o.cfg.OTLP.Endpoint, "JSONL only: no OTLP unless asked for")
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--version", "ancient"}, "--version"},
		{[]string{"--topology", "ring"}, "--topology"},
		{[]string{"--jsonl-format", "syslog"}, "--jsonl-format"},
		{[]string{"--system-share", "1.5"}, "--system-share"},
		{[]string{"--failure-share", "-0.1"}, "--failure-share"},
		{[]string{"--rate", "-1"}, "--rate"},
		{[]string{"--alias-share", "2"}, "--alias-share"},
		{[]string{"--otlp-header", "novalue"}, "key=value"},
		{[]string{"stray"}, "unexpected arguments"},
	} {
		_, err := parseFlags(tc.args, &bytes.Buffer{})
		assert.ErrorContains(t, err, tc.want, tc.args)
	}
}

func TestRunWritesManifestAndProgress(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	manifest := filepath.Join(dir, "manifest.json")
	err := run(context.Background(), []string{
		"--jsonl-dir", filepath.Join(dir, "logs"), "--requests", "25", "--version", "new", "--seed", "3",
		"--manifest", manifest,
	}, &stderr)
	require.NoError(t, err)
	m, err := telemetrygen.ReadManifest(manifest)
	require.NoError(t, err)
	assert.Len(t, m.Requests, 25)
	assert.Equal(t, uint64(3), m.Seed)
	assert.Positive(t, m.Totals.JSONLLines)
	assert.Contains(t, stderr.String(), "25 requests", "the final progress line")
}

func TestRunFailsWhenNothingArrives(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{
		"--otlp-endpoint", testutil.FreeAddr(t), "--otlp-insecure", "--requests", "3", "--quiet", "--send-timeout", "200ms",
	}, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not delivered")
	assert.False(t, strings.Contains(stderr.String(), "requests ("), "--quiet prints no progress")
}
