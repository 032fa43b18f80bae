// Package deploy holds the static checks of what users deploy: the container
// image (Dockerfile), the Compose stack (configs/compose/) and the Kubernetes
// manifests (configs/k8s/). They run without a Docker engine or a cluster:
// Compose files are loaded with the Compose specification's own Go library,
// Kubernetes manifests are decoded strictly with the Kubernetes API types,
// every embedded collector configuration is run through
// `otelcol-dynamo validate`, and the Grafana provisioning is checked for the
// data source uids and link fields it relies on.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// repoPath returns a path inside the repository.
func repoPath(t *testing.T, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{testutil.RepoRoot(t)}, elem...)...)
}

// readYAML decodes one YAML file into a generic map.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(b, &doc), path)
	return doc
}

// dig walks nested maps along keys and returns what it finds there (nil if
// any step is missing).
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// validate runs `otelcol-dynamo validate` on the given configuration files
// (merged in order) with extra environment variables.
func validate(t *testing.T, env []string, configs ...string) {
	t.Helper()
	args := []string{"validate"}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	cmd := exec.Command(testutil.CollectorBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "otelcol-dynamo %s:\n%s", strings.Join(args, " "), out)
}

var envReference = regexp.MustCompile(`\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-([^}]*))?\}`)

// envDefaults replaces every ${env:NAME:-default} of a collector configuration
// value with its default, as the collector does when NAME is not set.
func envDefaults(s string) string {
	return envReference.ReplaceAllString(s, "$2")
}
