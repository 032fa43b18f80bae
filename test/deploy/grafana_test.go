package deploy

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The parts of Grafana's data source provisioning format these checks rely on.
type grafanaDatasources struct {
	APIVersion  int                 `yaml:"apiVersion"`
	Datasources []grafanaDatasource `yaml:"datasources"`
}

type grafanaDatasource struct {
	Name     string         `yaml:"name"`
	Type     string         `yaml:"type"`
	UID      string         `yaml:"uid"`
	URL      string         `yaml:"url"`
	JSONData map[string]any `yaml:"jsonData"`
}

func provisionedDatasources(t *testing.T) (map[string]grafanaDatasource, string) {
	t.Helper()
	path := repoPath(t, "configs", "compose", "grafana", "provisioning", "datasources", "datasources.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	vars := grafanaExpandNode(&doc)
	assert.Empty(t, vars, "environment variables in %s (write Grafana's own variables as $${...})", path)
	var f grafanaDatasources
	require.NoError(t, doc.Decode(&f))
	assert.Equal(t, 1, f.APIVersion)
	byUID := map[string]grafanaDatasource{}
	for _, ds := range f.Datasources {
		require.NotEmpty(t, ds.UID, "data source %s needs a fixed uid: links and dashboards refer to it", ds.Name)
		byUID[ds.UID] = ds
	}
	return byUID, string(b)
}

func TestGrafanaDatasourcesPointAtTheStack(t *testing.T) {
	ds, _ := provisionedDatasources(t)
	p := composeProject(t)
	for uid, want := range map[string]struct{ typ, service, port string }{
		"tempo":      {"tempo", "tempo", "3200"},
		"loki":       {"loki", "loki", "3100"},
		"prometheus": {"prometheus", "prometheus", "9090"},
	} {
		require.Contains(t, ds, uid)
		assert.Equal(t, want.typ, ds[uid].Type, uid)
		u, err := url.Parse(ds[uid].URL)
		require.NoError(t, err)
		assert.Equal(t, want.service, u.Hostname(), uid)
		assert.Equal(t, want.port, u.Port(), uid)
		assert.Contains(t, p.Services, want.service, "data source %s points at a service the stack does not run", uid)
	}
}

func TestGrafanaTraceToLogsUsesStructuredMetadata(t *testing.T) {
	ds, _ := provisionedDatasources(t)
	links, ok := ds["tempo"].JSONData["tracesToLogsV2"].(map[string]any)
	require.True(t, ok, "Tempo needs tracesToLogsV2")
	assert.Equal(t, "loki", links["datasourceUid"])
	assert.Equal(t, true, links["customQuery"])
	query, _ := links["query"].(string)

	// By trace id and by x_request_id, both label filters on structured
	// metadata, never a parser: Dynamo's bodies are not JSON.
	assert.Regexp(t, `\| trace_id=~?"[^"]*\$\{__trace\.traceId\}"`, query)
	assert.Contains(t, query, `x_request_id="${__span.tags.x_request_id}"`)
	assert.Contains(t, query, `x_request_id!=""`, "a span without x_request_id must not match every log line")
	for _, parser := range []string{"| json", "| logfmt", "| regexp", "| pattern"} {
		assert.NotContains(t, query, parser)
	}
}

func TestGrafanaLogToTraceUsesTheTraceIDLabel(t *testing.T) {
	ds, _ := provisionedDatasources(t)
	fields, ok := ds["loki"].JSONData["derivedFields"].([]any)
	require.True(t, ok, "Loki needs derivedFields")
	byName := map[string]map[string]any{}
	for _, f := range fields {
		m := f.(map[string]any)
		byName[m["name"].(string)] = m
	}
	traceID := byName["trace_id"]
	require.NotNil(t, traceID)
	// matcherType label: matcherRegex is the name of the label (structured
	// metadata), not a regular expression over the line.
	assert.Equal(t, "label", traceID["matcherType"])
	assert.Equal(t, "trace_id", traceID["matcherRegex"])
	assert.Equal(t, "tempo", traceID["datasourceUid"])
	assert.Equal(t, "${__value.raw}", traceID["url"])

	requestID := byName["x_request_id"]
	require.NotNil(t, requestID)
	assert.Equal(t, "label", requestID["matcherType"])
	assert.Equal(t, "x_request_id", requestID["matcherRegex"])
	assert.Equal(t, "tempo", requestID["datasourceUid"])
}

// grafanaExpand does to a provisioning value what Grafana does when it reads
// it: $$ stands for a literal $, and every other $NAME or ${NAME} is replaced
// from the environment, which is empty here. The names it looked up are
// returned.
func grafanaExpand(s string) (string, []string) {
	var vars []string
	parts := strings.Split(s, "$$")
	for i, part := range parts {
		parts[i] = os.Expand(part, func(name string) string {
			vars = append(vars, name)
			return ""
		})
	}
	return strings.Join(parts, "$"), vars
}

// grafanaExpandNode expands every string value of a YAML document in place
// (Grafana expands values, not keys or comments).
func grafanaExpandNode(n *yaml.Node) []string {
	var vars []string
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			var v []string
			n.Value, v = grafanaExpand(n.Value)
			vars = append(vars, v...)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			vars = append(vars, grafanaExpandNode(n.Content[i])...)
		}
	default:
		for _, c := range n.Content {
			vars = append(vars, grafanaExpandNode(c)...)
		}
	}
	return vars
}

func TestGrafanaTemplateVariablesSurviveEnvironmentExpansion(t *testing.T) {
	// A Grafana variable written ${__value.raw} in a provisioning file would
	// be taken for an environment variable and become empty.
	expanded, vars := grafanaExpand("${__value.raw} $${__trace.traceId} $$__tags")
	assert.Equal(t, []string{"__value.raw"}, vars)
	assert.Equal(t, " ${__trace.traceId} $__tags", expanded)

	_, raw := provisionedDatasources(t)
	assert.Contains(t, raw, "$${__trace.traceId}")
}

func TestGrafanaDashboardsAreProvisionedAndUseKnownDatasources(t *testing.T) {
	ds, _ := provisionedDatasources(t)
	p := composeProject(t)

	// The provider's folder is where the Grafana service mounts the dashboards.
	provider := readYAML(t, repoPath(t, "configs", "compose", "grafana", "provisioning", "dashboards", "dashboards.yaml"))
	providers, _ := provider["providers"].([]any)
	require.Len(t, providers, 1)
	path, _ := dig(providers[0], "options", "path").(string)
	var hostDir string
	for _, v := range p.Services["grafana"].Volumes {
		if v.Target == path {
			hostDir = v.Source
		}
	}
	require.NotEmpty(t, hostDir, "no volume of the grafana service is mounted at the provider's path %s", path)

	files, err := filepath.Glob(filepath.Join(hostDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	overlay := readYAML(t, repoPath(t, "configs", "compose", "compose.overlay.yaml"))
	metricNames := spanMetricNames(t, overlay)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var dash map[string]any
		require.NoError(t, json.Unmarshal(b, &dash), f)
		assert.NotEmpty(t, dash["uid"], f)

		// Panels: unique ids, inside Grafana's 24-column grid.
		panels, _ := dash["panels"].([]any)
		require.NotEmpty(t, panels, f)
		ids := map[float64]bool{}
		for _, p := range panels {
			id, _ := dig(p, "id").(float64)
			assert.False(t, ids[id], "%s: panel id %v used twice", filepath.Base(f), id)
			ids[id] = true
			x, _ := dig(p, "gridPos", "x").(float64)
			w, _ := dig(p, "gridPos", "w").(float64)
			assert.True(t, w > 0 && x+w <= 24, "%s: panel %v is outside the grid", filepath.Base(f), id)
		}

		// Every data source reference is one that is provisioned.
		var walk func(any)
		uses := map[string]bool{}
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if d, ok := v["datasource"].(map[string]any); ok {
					uid, _ := d["uid"].(string)
					assert.Contains(t, ds, uid, "%s refers to data source %q", filepath.Base(f), uid)
					uses[uid] = true
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(dash)
		assert.True(t, uses["prometheus"], "%s shows span metrics", filepath.Base(f))

		// Every Prometheus metric it queries is one the span_metrics connector
		// of the overlay produces.
		for _, m := range regexp.MustCompile(`traces_span_metrics_[a-z_]+`).FindAllString(string(b), -1) {
			assert.Contains(t, metricNames, m, "%s queries %s", filepath.Base(f), m)
		}
		for _, label := range []string{"dynamo_component", "dynamo_role"} {
			assert.Contains(t, string(b), label)
		}
	}
}

// spanMetricNames returns the Prometheus names of the span_metrics
// connector's output, as Prometheus' OTLP receiver writes them (dots become
// underscores, counters get _total, units a suffix).
func spanMetricNames(t *testing.T, overlay map[string]any) []string {
	t.Helper()
	ns, _ := dig(overlay, "connectors", "span_metrics", "namespace").(string)
	require.NotEmpty(t, ns)
	unit, _ := dig(overlay, "connectors", "span_metrics", "histogram", "unit").(string)
	suffix := map[string]string{"ms": "milliseconds", "s": "seconds"}[unit]
	require.NotEmpty(t, suffix, "histogram unit %q", unit)
	prefix := strings.ReplaceAll(ns, ".", "_")
	duration := prefix + "_duration_" + suffix

	dims, _ := dig(overlay, "connectors", "span_metrics", "dimensions").([]any)
	var names []string
	for _, d := range dims {
		names = append(names, dig(d, "name").(string))
	}
	assert.Contains(t, names, "dynamo.component")
	assert.Contains(t, names, "dynamo.role")
	return []string{prefix + "_calls_total", duration + "_bucket", duration + "_sum", duration + "_count"}
}
