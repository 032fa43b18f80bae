package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/k8sgen"
	"github.com/otelcol-dynamo/otelcol-dynamo/internal/testutil"
)

// yamlDocuments splits a multi-document YAML file, leaving out documents that
// hold nothing but comments.
func yamlDocuments(t *testing.T, b []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		j, err := yaml.YAMLToJSON(doc)
		require.NoError(t, err)
		if string(j) != "null" {
			docs = append(docs, doc)
		}
	}
}

// strictDecoder decodes Kubernetes objects of the built-in API groups and
// fails on unknown or duplicate fields.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

func decodeManifest(b []byte) ([]runtime.Object, error) {
	var objs []runtime.Object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if j, err := yaml.YAMLToJSON(doc); err != nil {
			return nil, err
		} else if string(j) == "null" {
			continue
		}
		obj, _, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
}

// k8sObjects are the objects `kubectl apply -f configs/k8s/` creates.
type k8sObjects struct {
	all          []runtime.Object
	deployments  map[string]*appsv1.Deployment
	daemonSets   map[string]*appsv1.DaemonSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	accounts     map[string]*corev1.ServiceAccount
	clusterRoles map[string]*rbacv1.ClusterRole
	roles        map[string]*rbacv1.Role
	crBindings   []*rbacv1.ClusterRoleBinding
	roleBindings []*rbacv1.RoleBinding
	budgets      []*policyv1.PodDisruptionBudget
}

func loadK8s(t *testing.T) *k8sObjects {
	t.Helper()
	files, err := filepath.Glob(repoPath(t, "configs", "k8s", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	o := &k8sObjects{
		deployments: map[string]*appsv1.Deployment{}, daemonSets: map[string]*appsv1.DaemonSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		accounts: map[string]*corev1.ServiceAccount{}, clusterRoles: map[string]*rbacv1.ClusterRole{},
		roles: map[string]*rbacv1.Role{},
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		objs, err := decodeManifest(b)
		require.NoError(t, err, f)
		for _, obj := range objs {
			o.all = append(o.all, obj)
			switch v := obj.(type) {
			case *appsv1.Deployment:
				o.deployments[v.Name] = v
			case *appsv1.DaemonSet:
				o.daemonSets[v.Name] = v
			case *corev1.Service:
				o.services[v.Name] = v
			case *corev1.ConfigMap:
				o.configMaps[v.Name] = v
			case *corev1.ServiceAccount:
				o.accounts[v.Name] = v
			case *rbacv1.ClusterRole:
				o.clusterRoles[v.Name] = v
			case *rbacv1.Role:
				o.roles[v.Name] = v
			case *rbacv1.ClusterRoleBinding:
				o.crBindings = append(o.crBindings, v)
			case *rbacv1.RoleBinding:
				o.roleBindings = append(o.roleBindings, v)
			case *policyv1.PodDisruptionBudget:
				o.budgets = append(o.budgets, v)
			case *corev1.Namespace:
			default:
				t.Errorf("%s: unexpected object %T", f, obj)
			}
		}
	}
	return o
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	o := loadK8s(t)
	for _, obj := range o.all {
		meta := obj.(interface {
			GetNamespace() string
			GetName() string
		})
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		switch kind {
		case "Namespace", "ClusterRole", "ClusterRoleBinding":
			assert.Empty(t, meta.GetNamespace(), "%s %s", kind, meta.GetName())
		default:
			assert.Equal(t, k8sgen.Namespace, meta.GetNamespace(), "%s %s", kind, meta.GetName())
		}
	}
	assert.Contains(t, o.deployments, "otelcol-dynamo-gateway")
	assert.Contains(t, o.daemonSets, "otelcol-dynamo-agent")
	for _, name := range []string{"otelcol-dynamo-gateway", "otelcol-dynamo-gateway-headless", "otelcol-dynamo-agent"} {
		assert.Contains(t, o.services, name)
	}
}

func TestKubernetesDecoderRejectsUnknownFields(t *testing.T) {
	b, err := os.ReadFile(repoPath(t, "configs", "k8s", "gateway.yaml"))
	require.NoError(t, err)
	bad := strings.Replace(string(b), "  replicas: 2\n", "  replicas: 2\n  replica: 3\n", 1)
	require.NotEqual(t, string(b), bad)
	_, err = decodeManifest([]byte(bad))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "replica")
}

func TestKubernetesConfigMapsAreGenerated(t *testing.T) {
	want, err := k8sgen.Generate(testutil.RepoRoot(t))
	require.NoError(t, err)
	got, err := os.ReadFile(repoPath(t, k8sgen.Output))
	require.NoError(t, err)
	if !assert.True(t, bytes.Equal(want, got), "%s is out of date: run `make k8s` and commit the result", k8sgen.Output) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		for i := range max(len(wl), len(gl)) {
			w, g := "", ""
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Logf("first difference at line %d:\n  generated: %q\n  committed: %q", i+1, w, g)
				break
			}
		}
	}

	o := loadK8s(t)
	for _, cm := range k8sgen.ConfigMaps {
		require.Contains(t, o.configMaps, cm.Name)
		src, err := os.ReadFile(repoPath(t, cm.Source))
		require.NoError(t, err)
		assert.True(t, string(src) == o.configMaps[cm.Name].Data[k8sgen.ConfigKey], "ConfigMap %s does not carry %s", cm.Name, cm.Source)
	}
}

// collectorPod returns the pod template and the collector container of a
// workload, and checks that the container reads its configuration from the
// generated ConfigMap.
func collectorPod(t *testing.T, o *k8sObjects, spec corev1.PodSpec, configMap string) corev1.Container {
	t.Helper()
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	require.Contains(t, c.Args, "--config")
	configPath := c.Args[slices.Index(c.Args, "--config")+1]
	assert.Equal(t, "/etc/otelcol-dynamo/config.yaml", configPath, "the image's documented configuration path")

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var found bool
	for _, m := range c.VolumeMounts {
		if filepath.Join(m.MountPath, k8sgen.ConfigKey) != configPath {
			continue
		}
		v := volumes[m.Name]
		require.NotNil(t, v.ConfigMap, "volume %s", m.Name)
		assert.Equal(t, configMap, v.ConfigMap.Name)
		require.Contains(t, o.configMaps, configMap)
		found = true
	}
	assert.True(t, found, "no ConfigMap is mounted at %s", configPath)

	ports := map[int32]bool{}
	for _, p := range c.Ports {
		ports[p.ContainerPort] = true
	}
	assert.True(t, ports[4317] && ports[4318], "OTLP ports 4317 and 4318")
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.ReadinessProbe.HTTPGet)
	return c
}

// containerEnv returns a container's environment with the values the
// cluster would fill in for the downward API.
func containerEnv(c corev1.Container, namespace string) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = "node-1"
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = namespace
		}
	}
	return env
}

func TestKubernetesEmbeddedCollectorConfigsValidate(t *testing.T) {
	o := loadK8s(t)
	workloads := map[string]corev1.Container{
		"otelcol-dynamo-gateway": collectorPod(t, o, o.deployments["otelcol-dynamo-gateway"].Spec.Template.Spec, "otelcol-dynamo-gateway"),
		"otelcol-dynamo-agent":   collectorPod(t, o, o.daemonSets["otelcol-dynamo-agent"].Spec.Template.Spec, "otelcol-dynamo-agent"),
	}
	for name, c := range workloads {
		t.Run(name, func(t *testing.T) {
			config := o.configMaps[name].Data[k8sgen.ConfigKey]
			require.NotEmpty(t, config)
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(config), 0o644))
			var env []string
			for k, v := range containerEnv(c, k8sgen.Namespace) {
				env = append(env, k+"="+v)
			}
			// The pod's data folder is a volume; here it is a temporary one.
			env = append(env, "STORAGE_DIR="+t.TempDir())
			validate(t, env, path)
		})
	}
}

func TestKubernetesGatewayTier(t *testing.T) {
	o := loadK8s(t)
	gw := o.deployments["otelcol-dynamo-gateway"]
	require.NotNil(t, gw)
	podLabels := gw.Spec.Template.Labels
	env := containerEnv(gw.Spec.Template.Spec.Containers[0], k8sgen.Namespace)
	assert.Contains(t, env, "TEMPO_ENDPOINT")
	assert.Contains(t, env, "LOKI_ENDPOINT")

	sc := gw.Spec.Template.Spec.SecurityContext
	require.NotNil(t, sc)
	require.NotNil(t, sc.RunAsNonRoot)
	assert.True(t, *sc.RunAsNonRoot)

	for _, name := range []string{"otelcol-dynamo-gateway", "otelcol-dynamo-gateway-headless"} {
		svc := o.services[name]
		require.NotNil(t, svc, name)
		for k, v := range svc.Spec.Selector {
			assert.Equal(t, v, podLabels[k], "%s selects the gateway pods", name)
		}
	}
	require.Len(t, o.budgets, 1)
	for k, v := range o.budgets[0].Spec.Selector.MatchLabels {
		assert.Equal(t, v, podLabels[k], "the disruption budget selects the gateway pods")
	}
	require.NotNil(t, gw.Spec.Replicas)
	require.NotNil(t, o.budgets[0].Spec.MinAvailable)
	assert.Less(t, o.budgets[0].Spec.MinAvailable.IntValue(), int(*gw.Spec.Replicas), "a node drain can still evict a gateway")

	headless := o.services["otelcol-dynamo-gateway-headless"]
	assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
	require.Len(t, headless.Spec.Ports, 1)
	assert.Equal(t, int32(4317), headless.Spec.Ports[0].Port)
}

func TestKubernetesAgentTier(t *testing.T) {
	o := loadK8s(t)
	ds := o.daemonSets["otelcol-dynamo-agent"]
	require.NotNil(t, ds)
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	env := containerEnv(c, k8sgen.Namespace)

	// Dynamo's pods reach the agent on their own node: host ports, and a
	// Service that keeps traffic on the node.
	hostPorts := map[int32]int32{}
	for _, p := range c.Ports {
		hostPorts[p.ContainerPort] = p.HostPort
	}
	assert.Equal(t, int32(4317), hostPorts[4317])
	assert.Equal(t, int32(4318), hostPorts[4318])
	svc := o.services["otelcol-dynamo-agent"]
	require.NotNil(t, svc)
	require.NotNil(t, svc.Spec.InternalTrafficPolicy)
	assert.Equal(t, corev1.ServiceInternalTrafficPolicyLocal, *svc.Spec.InternalTrafficPolicy)
	for k, v := range svc.Spec.Selector {
		assert.Equal(t, v, ds.Spec.Template.Labels[k])
	}

	// The pod log folder the jsonl receiver reads is mounted.
	agentConfig := readYAML(t, repoPath(t, "configs", "agent-k8s.yaml"))
	include, _ := dig(agentConfig, "receivers", "jsonl", "include").([]any)
	require.NotEmpty(t, include)
	assert.Equal(t, "cri", dig(agentConfig, "receivers", "jsonl", "format"))
	assert.NotEmpty(t, dig(agentConfig, "receivers", "jsonl", "storage"))
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	for _, glob := range include {
		assert.True(t, mounts[strings.Split(glob.(string), "/*")[0]], "the folder of %s is mounted", glob)
	}

	// k8s_attributes watches this node's pods and reads Dynamo's pod labels.
	assert.Equal(t, "${env:K8S_NODE_NAME:-}", dig(agentConfig, "processors", "k8s_attributes", "filter", "node"))
	assert.Equal(t, "node-1", env["K8S_NODE_NAME"], "K8S_NODE_NAME comes from spec.nodeName")
	labels, _ := dig(agentConfig, "processors", "k8s_attributes", "extract", "labels").([]any)
	var keys []string
	for _, l := range labels {
		keys = append(keys, dig(l, "key").(string))
	}
	assert.Contains(t, keys, "nvidia.com/dynamo-component-type")
	assert.Contains(t, keys, "nvidia.com/dynamo-graph-deployment-name")

	// load_balancing by trace id over the gateways' headless Service, which
	// the k8s resolver names <service>.<namespace>. The trace id travels as
	// an attribute, set alike on spans and log records (the exporter's own
	// traceID key hashes the two differently).
	lb := dig(agentConfig, "exporters", "load_balancing")
	assert.Equal(t, "attributes", dig(lb, "routing_key"))
	assert.Equal(t, []any{"routing.trace_id"}, dig(lb, "routing_attributes"))
	spanRoute, _ := dig(agentConfig, "processors", "transform/route", "trace_statements").([]any)
	logRoute, _ := dig(agentConfig, "processors", "transform/route", "log_statements").([]any)
	require.NotEmpty(t, spanRoute)
	require.NotEmpty(t, logRoute)
	assert.Equal(t, `set(span.attributes["routing.trace_id"], span.trace_id.string)`, spanRoute[0])
	assert.True(t, strings.HasPrefix(logRoute[0].(string), `set(log.attributes["routing.trace_id"], log.trace_id.string)`), logRoute[0])
	resolver, _ := dig(lb, "resolver", "k8s", "service").(string)
	resolver = os.Expand(strings.ReplaceAll(resolver, "${env:", "${"), func(k string) string {
		name, def, _ := strings.Cut(k, ":-")
		if v, ok := env[name]; ok {
			return v
		}
		return def
	})
	assert.Equal(t, "otelcol-dynamo-gateway-headless."+k8sgen.Namespace, resolver)
	assert.Equal(t, corev1.ClusterIPNone, o.services["otelcol-dynamo-gateway-headless"].Spec.ClusterIP)
	assert.NotNil(t, dig(lb, "sending_queue", "storage"), "the agent's queue is persisted")
	assert.NotNil(t, dig(lb, "sending_queue", "batch"), "the agent batches in its persistent queue")
	pipelines, _ := dig(agentConfig, "service", "pipelines").(map[string]any)
	for name := range pipelines {
		assert.Equal(t, []any{"load_balancing"}, dig(pipelines, name, "exporters"), "pipeline %s goes to the gateways", name)
		processors, _ := dig(pipelines, name, "processors").([]any)
		assert.NotContains(t, processors, "batch",
			"pipeline %s: a batch processor acknowledges data before it is persisted; batch in the exporter's queue", name)
		route, k8s := slices.Index(processors, any("transform/route")), slices.Index(processors, any("k8s_attributes"))
		assert.True(t, route > k8s && k8s >= 0, "pipeline %s: transform/route after k8s_attributes (it reads k8s.pod.uid)", name)
	}

	// RBAC: what k8s_attributes and the k8s resolver need.
	assert.Equal(t, "otelcol-dynamo-agent", spec.ServiceAccountName)
	allowed := func(group, resource string) bool {
		var rules []rbacv1.PolicyRule
		for _, b := range o.crBindings {
			if hasSubject(b.Subjects, spec.ServiceAccountName) && b.RoleRef.Kind == "ClusterRole" && o.clusterRoles[b.RoleRef.Name] != nil {
				rules = append(rules, o.clusterRoles[b.RoleRef.Name].Rules...)
			}
		}
		for _, b := range o.roleBindings {
			if hasSubject(b.Subjects, spec.ServiceAccountName) && b.RoleRef.Kind == "Role" && o.roles[b.RoleRef.Name] != nil {
				rules = append(rules, o.roles[b.RoleRef.Name].Rules...)
			}
		}
		for _, r := range rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) &&
				slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch") {
				return true
			}
		}
		return false
	}
	for _, gr := range [][2]string{{"", "pods"}, {"", "namespaces"}, {"apps", "replicasets"}, {"discovery.k8s.io", "endpointslices"}} {
		assert.True(t, allowed(gr[0], gr[1]), "the agent may list and watch %s (group %q)", gr[1], gr[0])
	}
}

func hasSubject(subjects []rbacv1.Subject, account string) bool {
	for _, s := range subjects {
		if s.Kind == "ServiceAccount" && s.Name == account && s.Namespace == k8sgen.Namespace {
			return true
		}
	}
	return false
}

func TestDynamoGraphDeploymentExamples(t *testing.T) {
	o := loadK8s(t)
	agent := o.services["otelcol-dynamo-agent"]
	require.NotNil(t, agent)
	agentHost := fmt.Sprintf("%s.%s.svc.cluster.local", agent.Name, agent.Namespace)

	for file, wantServices := range map[string]map[string]string{
		"agg.yaml":    {"Frontend": "dynamo-frontend", "VllmDecodeWorker": "dynamo-worker-vllm"},
		"disagg.yaml": {"Frontend": "dynamo-frontend", "VllmDecodeWorker": "dynamo-worker-decode", "VllmPrefillWorker": "dynamo-worker-prefill"},
	} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(repoPath(t, "configs", "k8s", "dynamo", file))
			require.NoError(t, err)
			docs := yamlDocuments(t, b)
			require.Len(t, docs, 1)
			var dgd struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Spec struct {
					Envs     []corev1.EnvVar `json:"envs"`
					Services map[string]struct {
						ComponentType    string          `json:"componentType"`
						SubComponentType string          `json:"subComponentType"`
						Envs             []corev1.EnvVar `json:"envs"`
						Extra            map[string]any  `json:"-"`
					} `json:"services"`
				} `json:"spec"`
			}
			// Not strict: the operator's CRD has many more fields. The envs
			// themselves decode as Kubernetes EnvVars.
			require.NoError(t, yaml.Unmarshal(docs[0], &dgd))
			assert.Equal(t, "nvidia.com/v1alpha1", dgd.APIVersion)
			assert.Equal(t, "DynamoGraphDeployment", dgd.Kind)

			env := map[string]string{}
			for _, e := range dgd.Spec.Envs {
				env[e.Name] = e.Value
			}
			assert.Equal(t, "true", env["DYN_LOGGING_JSONL"])
			assert.Equal(t, "true", env["OTEL_EXPORT_ENABLED"])
			for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"} {
				u, err := url.Parse(env[k])
				require.NoError(t, err, k)
				host, port, err := net.SplitHostPort(u.Host)
				require.NoError(t, err, k)
				assert.Equal(t, agentHost, host, "%s points at the node-local agent Service", k)
				assert.Equal(t, "4317", port, "%s: Dynamo's default protocol is gRPC", k)
			}

			got := map[string]string{}
			for name, s := range dgd.Spec.Services {
				for _, e := range s.Envs {
					if e.Name == "OTEL_SERVICE_NAME" {
						got[name] = e.Value
					}
				}
				switch {
				case strings.Contains(got[name], "prefill"):
					assert.Equal(t, "prefill", s.SubComponentType, name)
				case strings.Contains(got[name], "decode"):
					assert.Equal(t, "decode", s.SubComponentType, name)
				}
			}
			assert.Equal(t, wantServices, got)
		})
	}
}
