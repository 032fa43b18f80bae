// Package configs holds the collector configurations this distribution ships.
// Its test validates each of them with the built binary, so a shipped
// configuration can never rot.
package configs

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// collectorConfigs returns every YAML file under configs/ that is a collector
// configuration (has top-level receivers and service sections).
func collectorConfigs(t *testing.T) []string {
	root := filepath.Join(testutil.RepoRoot(t), "configs")
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if strings.HasSuffix(path, ".overlay.yaml") {
			return nil // validated merged over the gateway, below
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc map[string]any
		if yaml.Unmarshal(b, &doc) != nil {
			return nil // multi-document files (Kubernetes) are checked by their own tests
		}
		if _, ok := doc["service"]; ok {
			if _, ok := doc["receivers"]; ok {
				out = append(out, path)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// validateConfig runs `otelcol-dynamo validate` on one configuration.
func validateConfig(t *testing.T, bin, path string, env []string, extraArgs ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"validate", "--config", path}, extraArgs...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s does not validate:\n%s", path, out)
}

func TestShippedConfigsValidate(t *testing.T) {
	bin := testutil.CollectorBinary(t)
	configs := collectorConfigs(t)
	require.Contains(t, configs, filepath.Join(testutil.RepoRoot(t), "configs", "otelcol-dynamo.yaml"))
	require.Contains(t, configs, filepath.Join(testutil.RepoRoot(t), "configs", "local.yaml"))
	overlays, err := filepath.Glob(filepath.Join(testutil.RepoRoot(t), "configs", "*.overlay.yaml"))
	require.NoError(t, err)
	for _, overlay := range overlays {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			gateway := filepath.Join(testutil.RepoRoot(t), "configs", "otelcol-dynamo.yaml")
			validateConfig(t, bin, gateway, nil, "--config", overlay)
		})
	}
	for _, path := range configs {
		rel := strings.TrimPrefix(path, testutil.RepoRoot(t)+"/")
		t.Run(rel, func(t *testing.T) {
			// With every environment variable at its documented default ...
			validateConfig(t, bin, path, nil)
			// ... and with the variables a second gateway on the same host would set.
			dir := t.TempDir()
			validateConfig(t, bin, path, []string{
				"STORAGE_DIR=" + dir, "LOCAL_DATA_DIR=" + dir,
				"OTLP_GRPC_ENDPOINT=127.0.0.1:14317", "OTLP_HTTP_ENDPOINT=127.0.0.1:14318",
				"HEALTH_CHECK_ENDPOINT=127.0.0.1:23133", "METRICS_PORT=18888",
				"TEMPO_ENDPOINT=127.0.0.1:24317", "TEMPO_INSECURE=false",
				"LOKI_ENDPOINT=https://127.0.0.1:23100/otlp", "LOKI_TENANT=team-a",
			})
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
