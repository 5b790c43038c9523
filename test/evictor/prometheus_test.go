package evictor_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/test/controlplane"
	"github.com/tinorodney/rebalancer/test/promtest"
)

// The chart's ServiceMonitor with two evictor replicas makes a real Prometheus (Debian's package)
// scrape each replica once: the scrape targets are the Services the rendered ServiceMonitor
// selects, times the evictor pods each selects (what the Prometheus Operator would generate),
// pointed at two evictors running against the test API server. Every series exists once per pod.
func TestPrometheusScrapesEachReplicaOnce(t *testing.T) {
	services := scrapedServices(t, renderChart(t, "evictor.replicas=2", "serviceMonitor.enabled=true"))
	if len(services) == 0 {
		t.Fatal("the rendered ServiceMonitor selects no Service of the evictor's pods")
	}
	s := newScenario(t)
	skewed(s, map[string]int{"web": 2})
	pods := map[string]string{"rebalancer-0": freeLoopbackAddr(t), "rebalancer-1": freeLoopbackAddr(t)}
	for _, id := range []string{"rebalancer-0", "rebalancer-1"} {
		startEvictor(t, s.src, options{leaderElect: true, identity: "-" + id, metricsAddr: pods[id]})
	}
	// One job per selected Service, one target per pod, as the Operator generates them. The
	// evictors share this process, so each serves its own registry on /instance-metrics.
	var cfg strings.Builder
	for _, svc := range services {
		fmt.Fprintf(&cfg, "- job_name: %s\n  metrics_path: /instance-metrics\n  honor_labels: true\n  static_configs:\n", svc)
		for pod, addr := range pods {
			fmt.Fprintf(&cfg, "  - targets: [%q]\n    labels: {pod: %s, service: %s}\n", addr, pod, svc)
		}
	}
	prom := promtest.Start(t, time.Second, cfg.String())
	ctx := context.Background()
	var vec model.Vector
	s.eventually("Prometheus to scrape both replicas", func() bool {
		v, err := prom.Query(ctx, `count by (pod) (rebalancer_dry_run_evictions_total)`)
		vec = v
		return err == nil && len(v) == 2
	})
	for _, sample := range vec {
		if sample.Value != 1 {
			t.Errorf("pod %s: %v series of rebalancer_dry_run_evictions_total, want 1 (scraped through %v)", sample.Metric["pod"], sample.Value, services)
		}
	}
	t.Logf("Services scraped: %v; series of rebalancer_dry_run_evictions_total per pod: %v", services, vec)

	// The Grafana board's "What stopped the plan" query, as the board has it: one series for the
	// policy, from the leader (the standby plans nothing), at 1.
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.DryRun = ptr.To(true) })
	query := strings.ReplaceAll(panelQuery(t, "What stopped the plan"), "$policy", s.ns)
	s.eventually("the leader's rebalancer_plan_stopped_by", func() bool {
		v, err := prom.Query(ctx, query)
		vec = v
		return err == nil && len(v) > 0
	})
	if len(vec) != 1 || vec[0].Metric["reason"] == "" {
		t.Errorf("%s: %v, want one series with a reason", query, vec)
	}
	t.Logf("%s: %v", query, vec)
}

// panelQuery is the query of the Grafana board's panel with the title (its only target).
func panelQuery(t *testing.T, title string) string {
	t.Helper()
	for _, p := range promtest.BoardPanels(t, controlplane.RepoRoot(), "rebalancer-overview.json") {
		if p.Title == title && len(p.Targets) == 1 {
			return p.Targets[0].Expr
		}
	}
	t.Fatalf("the board has no panel %q with one query", title)
	return ""
}

// renderChart renders charts/rebalancer with helm (bin/helm, or $REBALANCER_HELM) and the --set
// values.
func renderChart(t *testing.T, set ...string) []*unstructured.Unstructured {
	t.Helper()
	helm := os.Getenv("REBALANCER_HELM")
	if helm == "" {
		helm = filepath.Join(controlplane.RepoRoot(), "bin", "helm")
	}
	args := []string{"template", "rebalancer", filepath.Join(controlplane.RepoRoot(), "charts", "rebalancer"), "--namespace", "rebalancer-system"}
	for _, v := range set {
		args = append(args, "--set", v)
	}
	cmd := exec.Command(helm, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template (`make test` builds bin/helm): %v", err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(out)), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if u.GetKind() != "" {
			objs = append(objs, &u)
		}
	}
	return objs
}

// scrapedServices are the Services the evictor's ServiceMonitor selects that select the evictor's
// pods.
func scrapedServices(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var podLabels map[string]string
	var monitor map[string]string
	var svcs []*corev1.Service
	for _, o := range objs {
		switch {
		case o.GetKind() == "Deployment" && o.GetName() == "rebalancer":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				t.Fatal(err)
			}
			podLabels = d.Spec.Template.Labels
		case o.GetKind() == "ServiceMonitor" && o.GetName() == "rebalancer":
			m, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			monitor = m
		case o.GetKind() == "Service":
			var s corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &s); err != nil {
				t.Fatal(err)
			}
			svcs = append(svcs, &s)
		}
	}
	if podLabels == nil || monitor == nil {
		t.Fatal("the render has no evictor Deployment or no ServiceMonitor rebalancer")
	}
	var out []string
	for _, s := range svcs {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(podLabels)) &&
			labels.SelectorFromSet(monitor).Matches(labels.Set(s.Labels)) {
			out = append(out, s.Name)
		}
	}
	return out
}

// A policy that reads usage from a real Prometheus classifies the nodes as a policy reading the
// same usage from metrics-server does. Prometheus scrapes the kubelet's resource metrics
// (node_cpu_usage_seconds_total, container_memory_working_set_bytes, ... as /metrics/resource
// names them, with the node label a kubelet scrape job's relabelling adds), served here from the
// readings the metrics-server policy sees.
func TestPrometheusSourceClassifiesAsMetricsServer(t *testing.T) {
	s := newScenario(t)
	skewed(s, map[string]int{"web": 3})
	exporter := httptest.NewUnstartedServer(resourceMetrics(s.src, time.Now()))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exporter.Listener = l
	exporter.Start()
	t.Cleanup(exporter.Close)
	prom := promtest.Start(t, time.Second, fmt.Sprintf("- job_name: kubelet-resource\n  honor_labels: true\n  static_configs:\n  - targets: [%q]\n", l.Addr().String()))
	startEvictor(t, s.src, options{})

	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.DryRun = ptr.To(true) })
	fromMetricsServer := s.waitCycle(start)
	if err := env.Client.Delete(context.Background(), s.policy); err != nil {
		t.Fatal(err)
	}
	s.eventually("the first policy gone", func() bool {
		return apierrors.IsNotFound(getPolicy(s.policy.Name, &v1alpha1.RebalancePolicy{}))
	})

	// rate() over 15s is an estimate until 15s of scrapes fill the window (with two samples it
	// reads an eighth of the rate): a Prometheus just started would mislead the evictor.
	s.eventually("15s of scrapes in Prometheus", func() bool {
		v, err := prom.Query(context.Background(), `count_over_time(node_cpu_usage_seconds_total[15s]) >= 14`)
		return err == nil && len(v) == 3
	})
	start = time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.DryRun = ptr.To(true)
		p.Metrics = &v1alpha1.MetricsSource{Source: v1alpha1.UsageSourcePrometheus, Prometheus: &v1alpha1.PrometheusSource{Address: prom.URL,
			Queries: &v1alpha1.PrometheusQueries{
				NodeCPU:    `sum by (node) (rate(node_cpu_usage_seconds_total[15s]))`,
				NodeMemory: `sum by (node) (node_memory_working_set_bytes)`,
				PodCPU:     `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[15s]))`,
				PodMemory:  `sum by (namespace, pod) (container_memory_working_set_bytes)`,
			}}}
	})
	fromPrometheus := s.waitCycle(start)
	if c := meta.FindStatusCondition(fromPrometheus.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("MetricsAvailable %+v with Prometheus, want True", c)
	}
	a, b := fromMetricsServer.Status, fromPrometheus.Status
	if !slices.Equal(a.HotNodeNames, b.HotNodeNames) || !slices.Equal(a.ColdNodeNames, b.ColdNodeNames) || len(a.HotNodeNames) != 1 {
		t.Errorf("metrics-server: hot %v cold %v; Prometheus: hot %v cold %v; want the same, one hot node", a.HotNodeNames, a.ColdNodeNames, b.HotNodeNames, b.ColdNodeNames)
	}
	// rate() estimates from scrapes at their own times: the same picture, not the same digits.
	if a.Sigma == nil || b.Sigma == nil || math.Abs(*a.Sigma-*b.Sigma) > 0.1**a.Sigma {
		t.Errorf("sigma metrics-server %v, Prometheus %v: want within 10%%", ptr.Deref(a.Sigma, -1), ptr.Deref(b.Sigma, -1))
	}
	t.Logf("metrics-server: hot %v cold %v sigma %v; Prometheus: hot %v cold %v sigma %v", a.HotNodeNames, a.ColdNodeNames, *a.Sigma, b.HotNodeNames, b.ColdNodeNames, *b.Sigma)
}

// resourceMetrics serves the readings of src as the kubelet's /metrics/resource names them: CPU
// as counters of core-seconds since start (so that rate() gives the reading back), memory as
// working-set gauges; the node label is what a kubelet scrape job's relabelling adds.
func resourceMetrics(src *source, start time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r, _ := src.Read(context.Background())
		elapsed := time.Since(start).Seconds()
		var b strings.Builder
		b.WriteString("# TYPE node_cpu_usage_seconds_total counter\n")
		for n, s := range r.Nodes {
			fmt.Fprintf(&b, "node_cpu_usage_seconds_total{node=%q} %f\n", n, s.MilliCPU/1000*elapsed)
		}
		b.WriteString("# TYPE node_memory_working_set_bytes gauge\n")
		for n, s := range r.Nodes {
			fmt.Fprintf(&b, "node_memory_working_set_bytes{node=%q} %f\n", n, s.Memory)
		}
		b.WriteString("# TYPE container_cpu_usage_seconds_total counter\n")
		for k, s := range r.Pods {
			fmt.Fprintf(&b, "container_cpu_usage_seconds_total{namespace=%q,pod=%q,container=\"app\"} %f\n", k.Namespace, k.Name, s.MilliCPU/1000*elapsed)
		}
		b.WriteString("# TYPE container_memory_working_set_bytes gauge\n")
		for k, s := range r.Pods {
			fmt.Fprintf(&b, "container_memory_working_set_bytes{namespace=%q,pod=%q,container=\"app\"} %f\n", k.Namespace, k.Name, s.Memory)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(b.String()))
	})
}
