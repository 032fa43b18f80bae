package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// loadCompose loads a Compose file the way `docker compose` does, with schema
// validation (unknown attributes are errors), interpolation with an empty
// environment (so every ${VAR:-default} takes its default) and consistency
// checks, and with paths resolved against the file's folder.
func loadCompose(t *testing.T, path string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv(nil),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	require.NoError(t, err)
	return opts.LoadProject(context.Background())
}

func composeProject(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, repoPath(t, "configs", "compose", "docker-compose.yaml"))
	require.NoError(t, err)
	return p
}

func TestComposeFileFollowsTheSpecification(t *testing.T) {
	p := composeProject(t)
	assert.Equal(t, "otelcol-dynamo", p.Name)

	images := map[string]string{}
	for name, s := range p.Services {
		images[name] = s.Image
	}
	assert.Equal(t, map[string]string{
		"otelcol-dynamo": "otelcol-dynamo:latest",
		"tempo-init":     "grafana/tempo:2.8.2",
		"tempo":          "grafana/tempo:2.8.2",
		"loki":           "grafana/loki:3.5.0",
		"prometheus":     "prom/prometheus:v3.4.1",
		"grafana":        "grafana/grafana:12.2.0",
	}, images)

	// The ports of Dynamo's own stack, published on the same host ports.
	published := func(service string) map[uint32]string {
		out := map[uint32]string{}
		for _, port := range p.Services[service].Ports {
			out[port.Target] = port.Published
		}
		return out
	}
	assert.Equal(t, map[uint32]string{4317: "4317", 4318: "4318", 13133: "13133", 8888: "8888"}, published("otelcol-dynamo"))
	assert.Equal(t, map[uint32]string{3000: "3000"}, published("grafana"))
	assert.Equal(t, map[uint32]string{3200: "3200"}, published("tempo"))
	assert.Equal(t, map[uint32]string{3100: "3100"}, published("loki"))
	assert.Equal(t, map[uint32]string{9090: "9090"}, published("prometheus"))

	grafana := p.Services["grafana"]
	require.NotNil(t, grafana.Environment["GF_SECURITY_ADMIN_USER"])
	require.NotNil(t, grafana.Environment["GF_SECURITY_ADMIN_PASSWORD"])
	assert.Equal(t, "dynamo", *grafana.Environment["GF_SECURITY_ADMIN_USER"])
	assert.Equal(t, "dynamo", *grafana.Environment["GF_SECURITY_ADMIN_PASSWORD"])

	assert.Contains(t, []string(p.Services["prometheus"].Command), "--web.enable-otlp-receiver",
		"the span metrics reach Prometheus through its OTLP receiver")

	// The collector image is built from the repository's Dockerfile.
	build := p.Services["otelcol-dynamo"].Build
	require.NotNil(t, build)
	assert.Equal(t, testutil.RepoRoot(t), build.Context)
	assert.FileExists(t, filepath.Join(build.Context, build.Dockerfile))

	// Every bind-mounted file or folder is in the repository.
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			_, err := os.Stat(v.Source)
			assert.NoError(t, err, "service %s mounts %s, which does not exist", name, v.Source)
		}
	}
}

func TestComposeLoaderRejectsUnknownAttributes(t *testing.T) {
	// The check above is only as strict as the loader: show that it refuses
	// an attribute the specification does not define.
	b, err := os.ReadFile(repoPath(t, "configs", "compose", "docker-compose.yaml"))
	require.NoError(t, err)
	bad := strings.Replace(string(b), "    image: grafana/loki:3.5.0\n", "    image: grafana/loki:3.5.0\n    restart_policy: always\n", 1)
	require.NotEqual(t, string(b), bad)
	dir := t.TempDir()
	path := filepath.Join(dir, "docker-compose.yaml")
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	_, err = loadCompose(t, path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "restart_policy")
}

// composeCollectorConfigs returns the host files behind the collector
// service's --config arguments, in order.
func composeCollectorConfigs(t *testing.T, p *types.Project) []string {
	t.Helper()
	s := p.Services["otelcol-dynamo"]
	mounts := map[string]string{}
	for _, v := range s.Volumes {
		mounts[v.Target] = v.Source
	}
	var files []string
	cmd := []string(s.Command)
	for i := 0; i < len(cmd); i++ {
		if cmd[i] == "--config" && i+1 < len(cmd) {
			src, ok := mounts[cmd[i+1]]
			require.True(t, ok, "--config %s is not mounted into the collector", cmd[i+1])
			files = append(files, src)
			i++
		}
	}
	return files
}

func TestComposeCollectorRunsTheGatewayConfiguration(t *testing.T) {
	p := composeProject(t)
	files := composeCollectorConfigs(t, p)
	require.Equal(t, []string{
		repoPath(t, "configs", "otelcol-dynamo.yaml"),
		repoPath(t, "configs", "compose", "compose.overlay.yaml"),
	}, files, "the stack runs the gateway configuration as it ships, plus the overlay")

	// The collector's data folder is a volume at the place the image and the
	// gateway's STORAGE_DIR default agree on.
	var targets []string
	for _, v := range p.Services["otelcol-dynamo"].Volumes {
		targets = append(targets, v.Target)
	}
	assert.Contains(t, targets, "/var/lib/otelcol-dynamo")
}

func TestComposeCollectorConfigurationValidates(t *testing.T) {
	p := composeProject(t)
	files := composeCollectorConfigs(t, p)
	env := []string{"STORAGE_DIR=" + t.TempDir()}
	for k, v := range p.Services["otelcol-dynamo"].Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	validate(t, env, files...)
}

func TestComposeOverlayKeepsTheGatewayPipelines(t *testing.T) {
	// Lists replace when configurations merge: each list the overlay sets
	// must begin with the gateway's own, or the gateway would lose a receiver,
	// processor or exporter in this stack without anyone noticing.
	gateway := readYAML(t, repoPath(t, "configs", "otelcol-dynamo.yaml"))
	overlay := readYAML(t, repoPath(t, "configs", "compose", "compose.overlay.yaml"))
	pipelines, ok := dig(overlay, "service", "pipelines").(map[string]any)
	require.True(t, ok)
	checked := 0
	for name := range pipelines {
		for _, kind := range []string{"receivers", "processors", "exporters"} {
			over, ok := dig(overlay, "service", "pipelines", name, kind).([]any)
			if !ok {
				continue
			}
			base, ok := dig(gateway, "service", "pipelines", name, kind).([]any)
			if !ok {
				continue
			}
			checked++
			require.GreaterOrEqual(t, len(over), len(base), "pipeline %s %s", name, kind)
			assert.Equal(t, base, over[:len(base)],
				"pipeline %s: the overlay's %s must start with the gateway's %v", name, kind, base)
		}
	}
	assert.GreaterOrEqual(t, checked, 2, "the overlay extends the traces exporters and the logs receivers")
	if ext, ok := dig(overlay, "service", "extensions").([]any); ok {
		base, _ := dig(gateway, "service", "extensions").([]any)
		assert.Equal(t, base, ext[:min(len(base), len(ext))], "service.extensions must start with the gateway's")
	}
}

func TestComposeEndpointsMatchTheStack(t *testing.T) {
	p := composeProject(t)
	env := p.Services["otelcol-dynamo"].Environment
	get := func(k string) string {
		require.NotNil(t, env[k], k)
		return *env[k]
	}
	tempo := readYAML(t, repoPath(t, "configs", "compose", "tempo.yaml"))
	grpc, _ := dig(tempo, "distributor", "receivers", "otlp", "protocols", "grpc", "endpoint").(string)
	assert.Equal(t, "0.0.0.0:4317", grpc, "Tempo must accept OTLP from other containers")
	assert.Equal(t, "tempo:4317", get("TEMPO_ENDPOINT"))
	assert.Contains(t, p.Services, "tempo")

	loki, err := url.Parse(get("LOKI_ENDPOINT"))
	require.NoError(t, err)
	assert.Equal(t, "loki:3100", loki.Host)
	assert.Equal(t, "/otlp", loki.Path)

	prom, err := url.Parse(get("PROMETHEUS_OTLP_ENDPOINT"))
	require.NoError(t, err)
	assert.Equal(t, "prometheus:9090", prom.Host)
	assert.Equal(t, "/api/v1/otlp", prom.Path, "otlp_http appends /v1/metrics: Prometheus serves /api/v1/otlp/v1/metrics")
}

func TestLokiIndexesDynamoLabelsAndKeepsIDsAsMetadata(t *testing.T) {
	loki := readYAML(t, repoPath(t, "configs", "compose", "loki.yaml"))
	assert.Equal(t, true, dig(loki, "limits_config", "allow_structured_metadata"))
	assert.Equal(t, false, dig(loki, "limits_config", "otlp_config", "resource_attributes", "ignore_defaults"),
		"keep Loki's default index labels, service.name among them")

	actions := func(list any) map[string]string {
		out := map[string]string{}
		items, _ := list.([]any)
		for _, item := range items {
			action, _ := dig(item, "action").(string)
			attrs, _ := dig(item, "attributes").([]any)
			for _, a := range attrs {
				out[a.(string)] = action
			}
		}
		return out
	}
	res := actions(dig(loki, "limits_config", "otlp_config", "resource_attributes", "attributes_config"))
	assert.Equal(t, "index_label", res["dynamo.component"])
	assert.Equal(t, "index_label", res["dynamo.role"])
	logs := actions(dig(loki, "limits_config", "otlp_config", "log_attributes"))
	assert.Equal(t, "structured_metadata", logs["x_request_id"])
}

func TestComposeLaunchNotesMatchTheJSONLReceivers(t *testing.T) {
	// The launch notes redirect each Dynamo process's stderr into a file named
	// for its component; the overlay's jsonl receivers must pick each file up
	// under the same service name the process uses for OTLP.
	b, err := os.ReadFile(repoPath(t, "configs", "compose", "README.md"))
	require.NoError(t, err)
	notes := strings.ReplaceAll(string(b), "\\\n", " ")
	launch := regexp.MustCompile(`OTEL_SERVICE_NAME=(\S+)[^\n]*2>>"\$LOGS/([^"]+)"`)
	matches := launch.FindAllStringSubmatch(notes, -1)
	require.GreaterOrEqual(t, len(matches), 5, "aggregated (2 processes) and disaggregated (3 processes)")
	assert.Contains(t, notes, "LOGS=$PWD/configs/compose/dynamo-logs")

	p := composeProject(t)
	var logDir string
	for _, v := range p.Services["otelcol-dynamo"].Volumes {
		if v.Source == repoPath(t, "configs", "compose", "dynamo-logs") {
			logDir = v.Target
		}
	}
	require.NotEmpty(t, logDir, "the collector mounts configs/compose/dynamo-logs")

	overlay := readYAML(t, repoPath(t, "configs", "compose", "compose.overlay.yaml"))
	receivers, _ := overlay["receivers"].(map[string]any)
	for _, m := range matches {
		service, file := m[1], path.Join(logDir, m[2])
		var names []string
		for id, r := range receivers {
			if !strings.HasPrefix(id, "jsonl") {
				continue
			}
			include, _ := dig(r, "include").([]any)
			for _, glob := range include {
				if ok, err := path.Match(envDefaults(glob.(string)), file); err == nil && ok {
					names = append(names, dig(r, "service_name").(string))
				}
			}
		}
		assert.Equal(t, []string{service}, names, "%s: read by exactly one jsonl receiver, as %s", file, service)
	}
}

func TestPrometheusScrapesServicesOfTheStack(t *testing.T) {
	p := composeProject(t)
	prom := readYAML(t, repoPath(t, "configs", "compose", "prometheus.yaml"))
	jobs, _ := prom["scrape_configs"].([]any)
	require.NotEmpty(t, jobs)
	for _, job := range jobs {
		configs, _ := dig(job, "static_configs").([]any)
		for _, c := range configs {
			targets, _ := dig(c, "targets").([]any)
			for _, target := range targets {
				host, _, err := net.SplitHostPort(target.(string))
				require.NoError(t, err)
				assert.Contains(t, p.Services, host, "job %v scrapes %s", dig(job, "job_name"), target)
			}
		}
	}
	// The collector's own metrics port, as the gateway configuration defaults it.
	gateway, err := os.ReadFile(repoPath(t, "configs", "otelcol-dynamo.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(gateway), "${env:METRICS_PORT:-8888}")
	assert.Contains(t, string(gateway), "${env:METRICS_HOST:-0.0.0.0}", "reachable from Prometheus' container")
}
