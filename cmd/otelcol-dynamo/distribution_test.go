package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// The files the builder writes; everything else in this folder is ours.
var generatedFiles = []string{"main.go", "components.go", "main_others.go", "main_windows.go"}

// TestGeneratedCodeMatchesManifest regenerates the distribution from
// builder-config.yaml into a temporary folder and compares it with the
// committed code, so the manifest stays the single list of components.
func TestGeneratedCodeMatchesManifest(t *testing.T) {
	root := testutil.RepoRoot(t)
	manifest, err := os.ReadFile(filepath.Join(root, "builder-config.yaml"))
	require.NoError(t, err)

	out := t.TempDir()
	text := strings.Replace(string(manifest), "output_path: ./cmd/otelcol-dynamo", "output_path: "+out, 1)
	require.NotEqual(t, string(manifest), text, "builder-config.yaml must set dist.output_path: ./cmd/otelcol-dynamo")
	// Paths of this repository's own components are relative to the manifest.
	text = strings.ReplaceAll(text, "path: ./", "path: "+root+"/")
	tmpManifest := filepath.Join(t.TempDir(), "builder-config.yaml")
	require.NoError(t, os.WriteFile(tmpManifest, []byte(text), 0o600))

	cmd := exec.Command("go", "tool", "builder", "--config", tmpManifest, "--skip-compilation", "--skip-get-modules")
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "builder failed:\n%s", b)
	fmtCmd := exec.Command("gofmt", "-w", out)
	b, err = fmtCmd.CombinedOutput()
	require.NoError(t, err, "gofmt failed:\n%s", b)

	for _, name := range generatedFiles {
		want, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(root, "cmd", "otelcol-dynamo", name))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got),
			"cmd/otelcol-dynamo/%s differs from what builder-config.yaml generates: run `make generate`", name)
	}
}

// TestModulesOnReleaseTrain fails when any collector module resolves off the
// pinned release train (a `go mod tidy` that adds a module picks the newest
// release silently).
func TestModulesOnReleaseTrain(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Dir = testutil.RepoRoot(t)
	b, err := cmd.Output()
	require.NoError(t, err)
	checked := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		mod, ver := f[0], f[1]
		switch {
		case strings.HasPrefix(mod, "go.opentelemetry.io/collector"):
			checked++
			assert.Contains(t, []string{"v0.160.0", "v1.66.0"}, ver, "%s is off the release train", mod)
		case strings.HasPrefix(mod, "github.com/open-telemetry/opentelemetry-collector-contrib"):
			checked++
			assert.Equal(t, "v0.160.0", ver, "%s is off the release train", mod)
		}
	}
	assert.Greater(t, checked, 50, "expected the collector modules in `go list -m all`")
}

// TestComponentsListed runs `otelcol-dynamo components` and checks that the
// distribution carries what the README promises.
func TestComponentsListed(t *testing.T) {
	bin := testutil.CollectorBinary(t)
	b, err := exec.Command(bin, "components").Output()
	require.NoError(t, err)
	var got struct {
		Receivers  []struct{ Name string } `yaml:"receivers"`
		Processors []struct{ Name string } `yaml:"processors"`
		Exporters  []struct{ Name string } `yaml:"exporters"`
		Extensions []struct{ Name string } `yaml:"extensions"`
		Connectors []struct{ Name string } `yaml:"connectors"`
	}
	require.NoError(t, yaml.Unmarshal(b, &got), "components output:\n%s", b)
	names := func(list []struct{ Name string }) []string {
		var out []string
		for _, c := range list {
			out = append(out, c.Name)
		}
		return out
	}
	assert.Subset(t, names(got.Receivers), []string{"otlp", "jsonl", "file_log"})
	assert.Subset(t, names(got.Processors), []string{"dynamo", "memory_limiter", "batch", "resource", "attributes",
		"transform", "filter", "k8s_attributes", "tail_sampling"})
	assert.Subset(t, names(got.Exporters), []string{"otlp_grpc", "otlp_http", "debug", "file", "load_balancing", "loki"})
	assert.Subset(t, names(got.Extensions), []string{"health_check", "pprof", "zpages", "file_storage", "bearertokenauth"})
	assert.Subset(t, names(got.Connectors), []string{"span_metrics"})
}
