//go:build e2e

package e2e_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// cycle is the policies' interval in these tests; waits are counted in cycles.
const cycle = 10 * time.Second

// usage is what kwok reports for each pod of a workload.
type usage struct{ cpu, memory string }

// workload describes a Deployment for a scenario.
type workload struct {
	name, namespace string
	replicas        int32
	use             usage
	optIn           bool
	profile         string // rebalancer.atarnet.org/profile, when set
	priorityClass   string
	// scheduler is the pods' schedulerName; "" is rebalancer-scheduler.
	scheduler string
}

func (w workload) deployment() *appsv1.Deployment {
	labels := map[string]string{"app": w.name}
	podLabels := map[string]string{"app": w.name}
	if w.optIn {
		podLabels["rebalancer"] = "ok"
	}
	if w.profile != "" {
		podLabels["rebalancer.atarnet.org/profile"] = w.profile
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(w.replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{
					"kwok.x-k8s.io/usage-cpu":    w.use.cpu,
					"kwok.x-k8s.io/usage-memory": w.use.memory,
				}},
				Spec: corev1.PodSpec{
					SchedulerName:     cmp.Or(w.scheduler, "rebalancer-scheduler"),
					PriorityClassName: w.priorityClass,
					Containers: []corev1.Container{{
						Name: "app", Image: "registry.invalid/" + w.name + ":e2e",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("100m"),
							corev1.ResourceMemory: resource.MustParse("128Mi"),
						}},
					}},
				},
			},
		},
	}
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// namespace creates a namespace for one scenario and deletes it (and waits for its pods to go)
// when the test ends.
func namespace(t *testing.T, name string) {
	t.Helper()
	ctx := ctxFor(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.c.Create(ctx, ns); err != nil {
		t.Fatalf("Creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := env.c.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("Deleting namespace %s: %v", name, err)
		}
		waitUntil(t, 2*time.Minute, "the namespace's pods are gone", func(ctx context.Context) (bool, error) {
			pods := &corev1.PodList{}
			err := env.c.List(ctx, pods, client.InNamespace(name))
			return err == nil && len(pods.Items) == 0, err
		})
	})
}

// hotNode is where every scenario puts its workloads.
const hotNode = "x86-1"

// placeOn creates the workloads while only hotNode takes pods (every other node is cordoned),
// waits for their pods to run there, and uncordons the other nodes: hotNode starts hot.
func placeOn(t *testing.T, ws ...workload) {
	t.Helper()
	placeOnNodes(t, []string{hotNode}, ws...)
}

// placeOnNodes creates the workloads while only the nodes hot take pods, waits for every pod to
// run on one of them, and uncordons the other nodes.
func placeOnNodes(t *testing.T, hot []string, ws ...workload) {
	t.Helper()
	ctx := ctxFor(t)
	var all corev1.NodeList
	if err := env.c.List(ctx, &all); err != nil {
		t.Fatalf("Listing nodes: %v", err)
	}
	var others []string
	for _, n := range all.Items {
		if !slices.Contains(hot, n.Name) {
			others = append(others, n.Name)
		}
	}
	setUnschedulable(t, others, true)
	defer setUnschedulable(t, others, false)
	for _, w := range ws {
		if err := env.c.Create(ctx, w.deployment()); err != nil {
			t.Fatalf("Creating deployment %s/%s: %v", w.namespace, w.name, err)
		}
	}
	for _, w := range ws {
		waitUntil(t, 2*time.Minute, fmt.Sprintf("%s/%s runs on %v", w.namespace, w.name, hot), func(ctx context.Context) (bool, error) {
			pods := podsOf(t, w)
			n := 0
			for _, p := range pods {
				if slices.Contains(hot, p.Spec.NodeName) && p.Status.Phase == corev1.PodRunning {
					n++
				}
			}
			return n == int(w.replicas), nil
		})
	}
}

func setUnschedulable(t *testing.T, nodes []string, v bool) {
	t.Helper()
	ctx := ctxFor(t)
	for _, n := range nodes {
		node := &corev1.Node{}
		if err := env.c.Get(ctx, client.ObjectKey{Name: n}, node); err != nil {
			t.Fatalf("Getting node %s: %v", n, err)
		}
		patch := client.MergeFrom(node.DeepCopy())
		node.Spec.Unschedulable = v
		if err := env.c.Patch(ctx, node, patch); err != nil {
			t.Fatalf("Cordoning node %s: %v", n, err)
		}
	}
}

func podsOf(t *testing.T, w workload) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := env.c.List(context.Background(), pods, client.InNamespace(w.namespace), client.MatchingLabels{"app": w.name}); err != nil {
		t.Fatalf("Listing pods of %s: %v", w.name, err)
	}
	return slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
}

// uids returns the UIDs of a workload's pods: a pod evicted and replaced changes its UID.
func uids(t *testing.T, w workload) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range podsOf(t, w) {
		out[string(p.UID)] = p.Spec.NodeName
	}
	return out
}

// owners maps the UID of every pod of the workloads to its workload's name.
func owners(t *testing.T, ws ...workload) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, w := range ws {
		for uid := range uids(t, w) {
			out[uid] = w.name
		}
	}
	return out
}

// evictedSince counts the pods of before (owners) that are gone now, in all and by workload.
func evictedSince(t *testing.T, before map[string]string, ws ...workload) (int, map[string]int) {
	t.Helper()
	now := owners(t, ws...)
	byWorkload := map[string]int{}
	n := 0
	for uid, wl := range before {
		if _, ok := now[uid]; !ok {
			n++
			byWorkload[wl]++
		}
	}
	return n, byWorkload
}

// ledgerEntries counts the policy's ledger entries in namespace ns.
func ledgerEntries(p *v1alpha1.RebalancePolicy, ns string) int {
	n := 0
	for _, d := range p.Status.Ledger {
		if d.Namespace == ns {
			n++
		}
	}
	return n
}

// policy creates the RebalancePolicy "default" (the name the scheduler's plugin follows) from the
// demo's policy (hack/demo/manifests/policy.yaml) with test clocks: a cycle every 10s, one reading
// to turn hot or cold, no minimum pod age. It is deleted when the test ends.
func policy(t *testing.T, dryRun bool, mutate func(*v1alpha1.RebalancePolicySpec)) {
	t.Helper()
	ctx := ctxFor(t)
	raw, err := os.ReadFile(filepath.Join(env.root, "hack/demo/manifests/policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.RebalancePolicy{}
	if err := yaml.UnmarshalStrict(raw, p); err != nil {
		t.Fatalf("Decoding the demo policy: %v", err)
	}
	p.Spec.DryRun = ptr.To(dryRun)
	p.Spec.Interval = &metav1.Duration{Duration: cycle}
	p.Spec.Hysteresis.ConsecutiveReadings = 1
	p.Spec.Safety.MinPodAge = &metav1.Duration{}
	if mutate != nil {
		mutate(&p.Spec)
	}
	if err := env.c.Create(ctx, p); err != nil {
		t.Fatalf("Creating the policy: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := env.c.Delete(ctx, p); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("Deleting the policy: %v", err)
		}
		waitUntil(t, time.Minute, "the policy is gone", func(ctx context.Context) (bool, error) {
			err := env.c.Get(ctx, client.ObjectKeyFromObject(p), &v1alpha1.RebalancePolicy{})
			return apierrors.IsNotFound(err), nil
		})
	})
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			t.Logf("Waiting until %s: %v", what, err)
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("Timed out after %s waiting until %s", timeout, what)
	}
}

// metricsOf scrapes a /metrics endpoint.
func metricsOf(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // a loopback URL of the test's own sandbox
	if err != nil {
		t.Fatalf("Scraping %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("Parsing %s: %v", url, err)
	}
	return mfs
}

func evictorMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return metricsOf(t, "http://"+evictorAddr+"/metrics")
}

// value sums the counters or gauges of family name whose labels include want.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf, ok := mfs[name]
	if !ok {
		return 0
	}
	sum := 0.0
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}
