package k8sgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestRenderCarriesTheFileUnchanged(t *testing.T) {
	content := "# comment\nreceivers:\n  otlp:\n\n    protocols: {}\nservice: # trailing  \n  pipelines: {}\n"
	out, err := render(ConfigMap{Name: "x", Component: "gateway", Source: "configs/x.yaml"}, content)
	require.NoError(t, err)

	var cm corev1.ConfigMap
	require.NoError(t, yaml.UnmarshalStrict([]byte(out), &cm))
	assert.Equal(t, "ConfigMap", cm.Kind)
	assert.Equal(t, "x", cm.Name)
	assert.Equal(t, Namespace, cm.Namespace)
	assert.Equal(t, "gateway", cm.Labels["app.kubernetes.io/component"])
	assert.Equal(t, "configs/x.yaml", cm.Annotations["otelcol-dynamo/source"])
	assert.Equal(t, content, cm.Data[ConfigKey])
}

func TestRenderRefusesWhatALiteralBlockCannotCarry(t *testing.T) {
	cm := ConfigMap{Name: "x", Component: "agent", Source: "configs/x.yaml"}
	for name, content := range map[string]string{
		"empty":                "",
		"no final newline":     "a: 1",
		"two final newlines":   "a: 1\n\n",
		"leading space":        " a: 1\n",
		"whitespace-only line": "a: 1\n   \nb: 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render(cm, content)
			assert.Error(t, err)
		})
	}
}

func TestGenerateWritesOneConfigMapPerSource(t *testing.T) {
	root := t.TempDir()
	for i, cm := range ConfigMaps {
		path := filepath.Join(root, cm.Source)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("# source "+cm.Name+"\nindex: "+string(rune('0'+i))+"\n"), 0o644))
	}
	out, err := Generate(root)
	require.NoError(t, err)
	assert.Contains(t, string(out), "DO NOT EDIT")
	for _, cm := range ConfigMaps {
		assert.Contains(t, string(out), "  name: "+cm.Name+"\n")
		assert.Contains(t, string(out), "    # source "+cm.Name+"\n")
	}

	require.NoError(t, os.Remove(filepath.Join(root, ConfigMaps[0].Source)))
	_, err = Generate(root)
	assert.Error(t, err, "a missing source must fail the generator")
}
