package chart

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// toggle is one way to install the chart: values, what they must change in the render and the
// RBAC they must render.
type toggle struct {
	name   string
	values string
	rbac   rbacOptions
	check  func(t *testing.T, objs []*unstructured.Unstructured)
}

// defaultRBAC is the RBAC of the default values.
var defaultRBAC = rbacOptions{evictorLeaderElection: true, schedulerLeaderElection: true}

// toggles are the default values and every switch of values.yaml.
var toggles = []toggle{
	{
		name: "defaults",
		rbac: defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ev := deployment(t, objs, "rebalancer")
			if got := ptr.Deref(ev.Spec.Replicas, 0); got != 1 {
				t.Errorf("evictor replicas = %d, want 1", got)
			}
			c := ev.Spec.Template.Spec.Containers[0]
			if want := "tinorodney/rebalancer-evictor:0.1.0"; c.Image != want {
				t.Errorf("evictor image = %q, want %q (tag defaults to the appVersion)", c.Image, want)
			}
			wantArgs := []string{"--metrics-bind-address=:8080", "--health-probe-bind-address=:8081", "--leader-elect=true",
				"--leader-election-namespace=" + releaseNamespace, "--replacement-wait=10s", "--scheduler-config=/etc/rebalancer/scheduler/scheduler-config.yaml",
				"--scheduler-lease=" + releaseNamespace + "/rebalancer-scheduler", "--zap-log-level=info", "--zap-encoder=json"}
			if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
				t.Errorf("evictor args (-want,+got):\n%s", diff)
			}
			sc := deployment(t, objs, "rebalancer-scheduler")
			if want := "tinorodney/rebalancer-scheduler:0.1.0"; sc.Spec.Template.Spec.Containers[0].Image != want {
				t.Errorf("scheduler image = %q, want %q", sc.Spec.Template.Spec.Containers[0].Image, want)
			}
			svc := service(t, objs, "rebalancer-metrics")
			if diff := cmp.Diff([]corev1.ServicePort{{Name: "http-metrics", Port: 8080, TargetPort: intstr.FromString("http-metrics"), Protocol: corev1.ProtocolTCP}}, svc.Spec.Ports); diff != "" {
				t.Errorf("metrics Service ports (-want,+got):\n%s", diff)
			}
			// The dashboard Service: the same port and pods (a standby answers from the leader).
			dash := service(t, objs, "rebalancer-dashboard")
			if diff := cmp.Diff(svc.Spec.Ports, dash.Spec.Ports); diff != "" {
				t.Errorf("dashboard Service ports (-metrics,+dashboard):\n%s", diff)
			}
			if diff := cmp.Diff(svc.Spec.Selector, dash.Spec.Selector); diff != "" {
				t.Errorf("dashboard Service selector (-want,+got):\n%s", diff)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
					env[e.Name] = e.ValueFrom.FieldRef.FieldPath
				}
			}
			if diff := cmp.Diff(map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}, env); diff != "" {
				t.Errorf("evictor's downward-API env, which the leader-election identity needs (-want,+got):\n%s", diff)
			}
			ing := ingress(t, objs)
			wantTLS := []networkingv1.IngressTLS{{Hosts: []string{"rebalancer.atarnet.org"}, SecretName: "rebalancer-tls"}}
			if diff := cmp.Diff(wantTLS, ing.Spec.TLS); diff != "" {
				t.Errorf("Ingress TLS (-want,+got):\n%s", diff)
			}
			checkIngressRules(t, ing, []string{"rebalancer.atarnet.org"}, "http-metrics")
			p := policy(t, objs, "default")
			if !ptr.Deref(p.Spec.DryRun, false) {
				t.Error("the default RebalancePolicy is not in dry-run")
			}
			if diff := cmp.Diff(map[string]string{"rebalancer": "ok"}, p.Spec.PodSelector.MatchLabels); diff != "" {
				t.Errorf("podSelector (-want,+got):\n%s", diff)
			}
			absent(t, objs, "WorkloadSLO", "NodeClass", "ServiceMonitor")
			if find(objs, "ClusterRole", "rebalancer-dashboard-viewer") != nil {
				t.Error("rebalancer-dashboard-viewer rendered without metrics.secure")
			}
			testPod := pod(t, objs, "rebalancer-test-metrics")
			if !strings.Contains(strings.Join(testPod.Spec.Containers[0].Args, " "), "http://rebalancer-metrics."+releaseNamespace+".svc:8080/metrics") {
				t.Errorf("the helm test Pod does not call the metrics Service over http: %q", testPod.Spec.Containers[0].Args)
			}
		},
	},
	{
		name: "samples on with fields from values",
		values: `
samples:
  workloadSLO:
    enabled: true
    name: web
    namespace: staging
    labels: {team: web}
    selectorLabels: {app: web}
    maxDisruptionsPerHour: 3
    readinessWindow: 2m
    minAvailable: "50%"
    allowStateful: true
  nodeClass:
    enabled: true
    name: pi5
    labels: {hardware: pi}
    nodeSelectorLabels: {kubernetes.io/arch: arm64, example.org/board: pi5}
    weight: 40
    capacityFactor: 0.75
    preferredProfiles: [balanced, memory-bound]
`,
		rbac: defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			slo := &v1alpha1.WorkloadSLO{}
			typed(t, objs, "WorkloadSLO", "web", slo)
			if slo.Namespace != "staging" || slo.Labels["team"] != "web" {
				t.Errorf("WorkloadSLO namespace %q labels %v, want staging and team=web", slo.Namespace, slo.Labels)
			}
			wantSLO := v1alpha1.WorkloadSLOSpec{
				Selector:              slo.Spec.Selector,
				MaxDisruptionsPerHour: ptr.To[int32](3),
				ReadinessWindow:       slo.Spec.ReadinessWindow,
				MinAvailable:          ptr.To(intstr.FromString("50%")),
				AllowStateful:         ptr.To(true),
			}
			if diff := cmp.Diff(wantSLO, slo.Spec); diff != "" {
				t.Errorf("WorkloadSLO spec (-want,+got):\n%s", diff)
			}
			if slo.Spec.Selector.MatchLabels["app"] != "web" || slo.Spec.ReadinessWindow.Duration.String() != "2m0s" {
				t.Errorf("WorkloadSLO selector %v readinessWindow %v, want app=web and 2m", slo.Spec.Selector, slo.Spec.ReadinessWindow)
			}
			nc := &v1alpha1.NodeClass{}
			typed(t, objs, "NodeClass", "pi5", nc)
			wantNC := v1alpha1.NodeClassSpec{
				NodeSelector:      nc.Spec.NodeSelector,
				Weight:            ptr.To[int32](40),
				CapacityFactor:    ptr.To(0.75),
				PreferredProfiles: []v1alpha1.WorkloadProfile{v1alpha1.ProfileBalanced, v1alpha1.ProfileMemoryBound},
			}
			if diff := cmp.Diff(wantNC, nc.Spec); diff != "" {
				t.Errorf("NodeClass spec (-want,+got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{"kubernetes.io/arch": "arm64", "example.org/board": "pi5"}, nc.Spec.NodeSelector.MatchLabels); diff != "" {
				t.Errorf("NodeClass nodeSelector (-want,+got):\n%s", diff)
			}
			if nc.Labels["hardware"] != "pi" {
				t.Errorf("NodeClass labels %v, want hardware=pi", nc.Labels)
			}
		},
	},
	{
		name:   "ingress off",
		values: "ingress: {enabled: false}",
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			absent(t, objs, "Ingress")
		},
	},
	{
		name:   "ingress without tls",
		values: "ingress: {tls: {enabled: false}}",
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if tls := ingress(t, objs).Spec.TLS; tls != nil {
				t.Errorf("Ingress TLS = %v, want none", tls)
			}
		},
	},
	{
		name: "ingress with class hosts annotations and tls secret",
		values: `
ingress:
  className: nginx
  hosts: [rebalancer.example.org, dash.example.org]
  annotations:
    nginx.ingress.kubernetes.io/auth-url: https://oauth2.example.org/oauth2/auth
    nginx.ingress.kubernetes.io/auth-signin: https://oauth2.example.org/oauth2/start?rd=$escaped_request_uri
  tls: {enabled: true, secretName: dash-tls}
`,
		rbac: defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ing := ingress(t, objs)
			if got := ptr.Deref(ing.Spec.IngressClassName, ""); got != "nginx" {
				t.Errorf("ingressClassName = %q, want nginx", got)
			}
			if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; got != "https://oauth2.example.org/oauth2/auth" {
				t.Errorf("auth-url annotation = %q", got)
			}
			hosts := []string{"rebalancer.example.org", "dash.example.org"}
			if diff := cmp.Diff([]networkingv1.IngressTLS{{Hosts: hosts, SecretName: "dash-tls"}}, ing.Spec.TLS); diff != "" {
				t.Errorf("Ingress TLS (-want,+got):\n%s", diff)
			}
			checkIngressRules(t, ing, hosts, "http-metrics")
		},
	},
	{
		name:   "service monitor",
		values: "serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}",
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			checkServiceMonitor(t, objs, "rebalancer", "http-metrics", "http")
			checkServiceMonitor(t, objs, "rebalancer-scheduler", "https", "https")
		},
	},
	{
		name:   "secure metrics",
		values: "metrics: {secure: true}",
		rbac:   rbacOptions{secure: true, evictorLeaderElection: true, schedulerLeaderElection: true},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ev := deployment(t, objs, "rebalancer")
			if !slices.Contains(ev.Spec.Template.Spec.Containers[0].Args, "--metrics-secure") {
				t.Errorf("evictor args %q lack --metrics-secure", ev.Spec.Template.Spec.Containers[0].Args)
			}
			if got := service(t, objs, "rebalancer-metrics").Spec.Ports[0].Name; got != "https-metrics" {
				t.Errorf("metrics Service port %q, want https-metrics", got)
			}
			checkIngressRules(t, ingress(t, objs), []string{"rebalancer.atarnet.org"}, "https-metrics")
			testPod := pod(t, objs, "rebalancer-test-metrics")
			args := strings.Join(testPod.Spec.Containers[0].Args, " ")
			if testPod.Spec.ServiceAccountName != "rebalancer-test" || !strings.Contains(args, "Authorization: Bearer") ||
				!strings.Contains(args, "https://rebalancer-metrics."+releaseNamespace+".svc:8080/metrics") {
				t.Errorf("the helm test Pod (ServiceAccount %q) does not call https with a token: %s", testPod.Spec.ServiceAccountName, args)
			}
		},
	},
	{
		name:   "secure metrics with service monitor",
		values: "metrics: {secure: true}\nserviceMonitor: {enabled: true}",
		rbac:   rbacOptions{secure: true, evictorLeaderElection: true, schedulerLeaderElection: true},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			checkServiceMonitor(t, objs, "rebalancer", "https-metrics", "https")
		},
	},
	{
		name:   "two replicas",
		values: "evictor: {replicas: 2}\nscheduler: {replicas: 2}",
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, name := range []string{"rebalancer", "rebalancer-scheduler"} {
				if got := ptr.Deref(deployment(t, objs, name).Spec.Replicas, 0); got != 2 {
					t.Errorf("%s replicas = %d, want 2", name, got)
				}
			}
			if !slices.Contains(deployment(t, objs, "rebalancer").Spec.Template.Spec.Containers[0].Args, "--leader-elect=true") {
				t.Error("two evictor replicas without --leader-elect=true")
			}
			if cfg := schedulerConfig(t, objs); !ptr.Deref(cfg.LeaderElection.LeaderElect, false) {
				t.Error("two scheduler replicas without leader election")
			}
		},
	},
	{
		name:   "leader election off",
		values: "evictor: {leaderElection: {enabled: false}}\nscheduler: {replicas: 1, leaderElection: {enabled: false}}",
		rbac:   rbacOptions{},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			args := deployment(t, objs, "rebalancer").Spec.Template.Spec.Containers[0].Args
			if !slices.Contains(args, "--leader-elect=false") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--leader-election-namespace") }) {
				t.Errorf("evictor args %q, want --leader-elect=false and no lease namespace", args)
			}
			if cfg := schedulerConfig(t, objs); ptr.Deref(cfg.LeaderElection.LeaderElect, true) {
				t.Error("scheduler leader election still on")
			}
		},
	},
	{
		name: "network policies",
		values: `
networkPolicy:
  enabled: true
  metricsFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
  dashboardFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]
`,
		rbac: defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, name := range []string{"rebalancer", "rebalancer-scheduler"} {
				np := find(objs, "NetworkPolicy", name)
				if np == nil {
					t.Fatalf("no NetworkPolicy %s", name)
				}
				rules, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
				from, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "from")
				want := 2 // the release namespace and the scrapers
				if name == "rebalancer" {
					want = 3 // and the Ingress controller
				}
				if len(from) != want {
					t.Errorf("NetworkPolicy %s lets %d peers reach its port, want %d: %v", name, len(from), want, from)
				}
			}
		},
	},
	{
		name:   "disruption windows",
		values: `policy: {dryRun: false, disruptionWindows: [{schedule: "0 2 * * 1-5", duration: 3h, timezone: Europe/Berlin}, {schedule: "@weekly", duration: 6h}]}`,
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			var p v1alpha1.RebalancePolicy
			typed(t, objs, "RebalancePolicy", "default", &p)
			want := []v1alpha1.DisruptionWindow{
				{Schedule: "0 2 * * 1-5", Duration: metav1.Duration{Duration: 3 * time.Hour}, Timezone: "Europe/Berlin"},
				{Schedule: "@weekly", Duration: metav1.Duration{Duration: 6 * time.Hour}},
			}
			if diff := cmp.Diff(want, p.Spec.DisruptionWindows); diff != "" {
				t.Errorf("policy disruptionWindows (-want,+got):\n%s", diff)
			}
		},
	},
	{
		name: "prometheus usage source",
		values: `
evictor: {prometheusAddress: "http://prometheus-operated.monitoring:9090", forceDryRun: true, replacementWait: "0"}
scheduler: {pluginArgs: {prometheusAddress: "http://prometheus-operated.monitoring:9090"}}
policy: {metrics: {source: prometheus, prometheusAddress: "http://prometheus.example.org:9090"}}
`,
		rbac: defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			args := deployment(t, objs, "rebalancer").Spec.Template.Spec.Containers[0].Args
			for _, want := range []string{"--prometheus-address=http://prometheus-operated.monitoring:9090", "--dry-run", "--replacement-wait=0"} {
				if !slices.Contains(args, want) {
					t.Errorf("evictor args %q lack %s", args, want)
				}
			}
			m := policy(t, objs, "default").Spec.Metrics
			if m.Source != v1alpha1.UsageSourcePrometheus || m.Prometheus == nil || m.Prometheus.Address != "http://prometheus.example.org:9090" {
				t.Errorf("policy metrics = %+v, want prometheus at http://prometheus.example.org:9090", m)
			}
			if got := schedulerArgs(t, objs).PrometheusAddress; got != "http://prometheus-operated.monitoring:9090" {
				t.Errorf("plugin prometheusAddress = %q", got)
			}
		},
	},
	{
		name:   "no policy and pinned images",
		values: "policy: {create: false}\nevictor: {image: {digest: \"sha256:" + strings.Repeat("a", 64) + "\"}}\nscheduler: {image: {tag: v9}}",
		rbac:   defaultRBAC,
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			absent(t, objs, "RebalancePolicy")
			if got, want := deployment(t, objs, "rebalancer").Spec.Template.Spec.Containers[0].Image, "tinorodney/rebalancer-evictor@sha256:"+strings.Repeat("a", 64); got != want {
				t.Errorf("evictor image = %q, want %q", got, want)
			}
			if got, want := deployment(t, objs, "rebalancer-scheduler").Spec.Template.Spec.Containers[0].Image, "tinorodney/rebalancer-scheduler:v9"; got != want {
				t.Errorf("scheduler image = %q, want %q", got, want)
			}
		},
	},
}

func absent(t *testing.T, objs []*unstructured.Unstructured, kinds ...string) {
	t.Helper()
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			t.Errorf("unexpected %s %q", o.GetKind(), o.GetName())
		}
	}
}

// checkIngressRules: one rule per host, the dashboard and its API (not /metrics) to the metrics
// Service's port.
func checkIngressRules(t *testing.T, ing *networkingv1.Ingress, hosts []string, port string) {
	t.Helper()
	var want []networkingv1.IngressRule
	for _, h := range hosts {
		var paths []networkingv1.HTTPIngressPath
		for _, p := range []string{"/dashboard", "/api/v1"} {
			paths = append(paths, networkingv1.HTTPIngressPath{Path: p, PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "rebalancer-dashboard", Port: networkingv1.ServiceBackendPort{Name: port}},
			}})
		}
		want = append(want, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}})
	}
	if diff := cmp.Diff(want, ing.Spec.Rules); diff != "" {
		t.Errorf("Ingress rules (-want,+got):\n%s", diff)
	}
}

// checkServiceMonitor checks the one endpoint of a ServiceMonitor (its CRD is not vendored here).
func checkServiceMonitor(t *testing.T, objs []*unstructured.Unstructured, name, port, scheme string) {
	t.Helper()
	sm := find(objs, "ServiceMonitor", name)
	if sm == nil {
		t.Fatalf("no ServiceMonitor %q", name)
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor %q has %d endpoints, want 1", name, len(eps))
	}
	ep := eps[0].(map[string]any)
	if ep["port"] != port || ep["scheme"] != scheme || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor %q endpoint %v, want port %s scheme %s path /metrics", name, ep, port, scheme)
	}
	if scheme == "https" && ep["bearerTokenFile"] == nil {
		t.Errorf("ServiceMonitor %q scrapes https without a token", name)
	}
}
