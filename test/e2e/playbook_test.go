//go:build e2e

package e2e_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// hot: four pods that make x86-1 (8 CPU, 32Gi, plus the node agent's 100m and 256Mi) hot with
// the policy's weights 0.5/0.5: cpu (4 x 1.6 + 0.1) / 8 = 0.81, memory (4 x 6 + 0.25) / 32 = 0.76.
var hotUsage = usage{cpu: "1600m", memory: "6Gi"}

// Playbook 1: the default policy in dry-run counts what it would evict and evicts nothing.
func TestDryRunSmoke(t *testing.T) {
	w := workload{name: "web", namespace: "e2e-dryrun", replicas: 4, use: hotUsage, optIn: true}
	namespace(t, w.namespace)
	placeOn(t, w)
	before := uids(t, w)
	dryRunBefore := value(evictorMetrics(t), "rebalancer_dry_run_evictions_total", nil)
	policy(t, true, nil)

	waitUntil(t, 4*time.Minute, "the dry-run counter increases", func(context.Context) (bool, error) {
		return value(evictorMetrics(t), "rebalancer_dry_run_evictions_total", nil) > dryRunBefore, nil
	})
	time.Sleep(2 * cycle)
	if got := uids(t, w); !sameKeys(before, got) {
		t.Errorf("Dry-run replaced pods: before %v, after %v", before, got)
	}
	if n := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": w.namespace}); n != 0 {
		t.Errorf("rebalancer_evictions_total{namespace=%q} = %v in dry-run, want 0", w.namespace, n)
	}
}

// Playbook 2: a WorkloadSLO allowing one disruption an hour, two opted-in pods on a node that stays
// hot after one of them leaves: exactly one eviction, the other pending with "budget exhausted".
func TestBudgetEnforcement(t *testing.T) {
	const ns = "e2e-budget"
	namespace(t, ns)
	// x86-1: cpu (5 + 2 x 1 + 0.1) / 8 = 0.89, memory (20 + 2 x 4 + 0.25) / 32 = 0.88; after one
	// eviction (6.1/8, 24.25/32) it is still 0.76, hot.
	ballast := workload{name: "ballast", namespace: ns, replicas: 1, use: usage{cpu: "5", memory: "20Gi"}}
	api := workload{name: "api", namespace: ns, replicas: 2, use: usage{cpu: "1", memory: "4Gi"}, optIn: true}
	placeOn(t, ballast, api)
	slo := &v1alpha1.WorkloadSLO{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: v1alpha1.WorkloadSLOSpec{
			Selector:              &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			MaxDisruptionsPerHour: ptr.To[int32](1),
			ReadinessWindow:       &metav1.Duration{},
		},
	}
	if err := env.c.Create(ctxFor(t), slo); err != nil {
		t.Fatalf("Creating the WorkloadSLO: %v", err)
	}
	before := uids(t, api)
	policy(t, false, nil)

	waitUntil(t, 4*time.Minute, "the second pod is pending with budget exhausted", func(ctx context.Context) (bool, error) {
		got := &v1alpha1.WorkloadSLO{}
		if err := env.c.Get(ctx, client.ObjectKeyFromObject(slo), got); err != nil {
			return false, err
		}
		for _, p := range got.Status.Pending {
			if strings.Contains(p.Reason, "budget exhausted") {
				return true, nil
			}
		}
		return false, nil
	})
	time.Sleep(3 * cycle)
	if n := replaced(before, uids(t, api)); n != 1 {
		t.Errorf("%d pods of api were replaced, want exactly 1", n)
	}
	if n := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": ns}); n != 1 {
		t.Errorf("rebalancer_evictions_total{namespace=%q} = %v, want 1", ns, n)
	}
	if n := value(evictorMetrics(t), "rebalancer_skipped_candidates_total", map[string]string{"reason": "SLOBudgetExhausted"}); n == 0 {
		t.Errorf("rebalancer_skipped_candidates_total{reason=\"SLOBudgetExhausted\"} = 0, want > 0")
	}
}

// Playbook 3: a PodDisruptionBudget that allows no disruption: its pods are skipped.
func TestPDBCompliance(t *testing.T) {
	w := workload{name: "db", namespace: "e2e-pdb", replicas: 4, use: hotUsage, optIn: true}
	namespace(t, w.namespace)
	placeOn(t, w)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: w.namespace},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(4)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		},
	}
	if err := env.c.Create(ctxFor(t), pdb); err != nil {
		t.Fatalf("Creating the PDB: %v", err)
	}
	waitUntil(t, time.Minute, "the disruption controller computes the PDB", func(ctx context.Context) (bool, error) {
		got := &policyv1.PodDisruptionBudget{}
		err := env.c.Get(ctx, client.ObjectKeyFromObject(pdb), got)
		return err == nil && got.Status.ObservedGeneration == got.Generation && got.Status.ExpectedPods == 4 && got.Status.DisruptionsAllowed == 0, err
	})
	before := uids(t, w)
	skipped := value(evictorMetrics(t), "rebalancer_skipped_candidates_total", map[string]string{"reason": "PDBAllowsNoDisruption"})
	policy(t, false, nil)

	waitUntil(t, 4*time.Minute, "the PDB's pods are skipped", func(context.Context) (bool, error) {
		return value(evictorMetrics(t), "rebalancer_skipped_candidates_total", map[string]string{"reason": "PDBAllowsNoDisruption"}) > skipped, nil
	})
	time.Sleep(2 * cycle)
	if n := replaced(before, uids(t, w)); n != 0 {
		t.Errorf("%d pods protected by the PDB were replaced, want 0", n)
	}
	if n := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": w.namespace}); n != 0 {
		t.Errorf("rebalancer_evictions_total{namespace=%q} = %v, want 0", w.namespace, n)
	}
}

// Playbook 4: a NodeClass for the ARM nodes that prefers cpu-bound workloads; a hot cpu-bound
// workload moves there and sigma falls.
func TestNodeClassPreference(t *testing.T) {
	// Weights 0.9/0.1, so that a cpu-bound workload can make x86-1 hot: cpu (7 x 1 + 0.1) / 8 =
	// 0.89, memory (7 x 0.5 + 0.25) / 32 = 0.12, score 0.81. On a Pi one pod is (1 + 0.1) / 4 = 0.28.
	w := workload{name: "crunch", namespace: "e2e-class", replicas: 7, use: usage{cpu: "1", memory: "512Mi"}, optIn: true, profile: "cpu-bound"}
	namespace(t, w.namespace)
	for _, nc := range []*v1alpha1.NodeClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "arm"}, Spec: v1alpha1.NodeClassSpec{
			NodeSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/arch": "arm64"}},
			Weight:            ptr.To[int32](100),
			PreferredProfiles: []v1alpha1.WorkloadProfile{"cpu-bound"},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "x86"}, Spec: v1alpha1.NodeClassSpec{
			NodeSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/arch": "amd64"}},
			Weight:            ptr.To[int32](10),
			PreferredProfiles: []v1alpha1.WorkloadProfile{"memory-bound"},
		}},
	} {
		if err := env.c.Create(ctxFor(t), nc); err != nil {
			t.Fatalf("Creating NodeClass %s: %v", nc.Name, err)
		}
		t.Cleanup(func() {
			if err := env.c.Delete(context.Background(), nc); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("Deleting NodeClass %s: %v", nc.Name, err)
			}
		})
	}
	placeOn(t, w)
	before := uids(t, w)
	placedOnArm := value(schedulerMetrics(t), "rebalancer_scheduler_placements_total", map[string]string{"nodeclass": "arm"})
	policy(t, false, func(s *v1alpha1.RebalancePolicySpec) {
		s.Weights = &v1alpha1.ResourceWeights{CPU: ptr.To(0.9), Memory: ptr.To(0.1)}
		s.PodBackoff = &metav1.Duration{}
	})

	// Sigma before the moves is the sigma of the first cycle that read x86-1 hot: the cycles before
	// it may have run before metrics-server had the new pods' usage (sigma near 0; the CI run of
	// e62e22d read 0.0066 there). The status is written every cycle and read every second.
	var firstSigma float64
	waitUntil(t, 2*time.Minute, "the evictor reads "+hotNode+" hot", func(context.Context) (bool, error) {
		p := policyNow(t)
		if p.Status.Sigma == nil || !slices.Contains(p.Status.HotNodeNames, hotNode) {
			return false, nil
		}
		firstSigma = *p.Status.Sigma
		return true, nil
	})
	t.Logf("sigma of the first cycle that read %s hot: %v", hotNode, firstSigma)
	waitUntil(t, 5*time.Minute, "x86-1 is no longer hot and the replacements run", func(context.Context) (bool, error) {
		mfs := evictorMetrics(t)
		if value(mfs, "rebalancer_node_classification", map[string]string{"node": hotNode, "classification": "hot"}) != 0 {
			return false, nil
		}
		return replaced(before, uids(t, w)) > 0 && running(t, w) == int(w.replicas), nil
	})
	if sigma := value(evictorMetrics(t), "rebalancer_sigma", map[string]string{"policy": "default"}); sigma >= firstSigma {
		t.Errorf("rebalancer_sigma went from %v to %v, want it to fall", firstSigma, sigma)
	}
	for _, p := range podsOf(t, w) {
		if _, old := before[string(p.UID)]; old {
			continue
		}
		if !strings.HasPrefix(p.Spec.NodeName, "arm-") {
			t.Errorf("Replacement %s landed on %s, want a node of NodeClass arm", p.Name, p.Spec.NodeName)
		}
	}
	// The evictor followed its evictions up: replacements counted against its predictions, none
	// on a hot node.
	exact := map[string]string{"scheduler": "rebalancer-scheduler", "outcome": "exact"}
	waitUntil(t, time.Minute, "the evictor counts its predictions", func(context.Context) (bool, error) {
		return value(evictorMetrics(t), "rebalancer_placement_predictions_total", exact) > 0, nil
	})
	if n := value(evictorMetrics(t), "rebalancer_placement_predictions_total", map[string]string{"scheduler": "rebalancer-scheduler", "outcome": "hot"}); n != 0 {
		t.Errorf("rebalancer_placement_predictions_total{outcome=\"hot\"} = %v: a replacement landed on a hot node", n)
	}
	// Misses on cold or normal nodes are reported, not failed: the e2e cluster is small and its
	// timing (kwok removes an evicted pod at once) is not a real cluster's.
	for _, outcome := range []string{"exact", "cold", "notHot"} {
		t.Logf("rebalancer_placement_predictions_total{outcome=%q} = %v", outcome,
			value(evictorMetrics(t), "rebalancer_placement_predictions_total", map[string]string{"scheduler": "rebalancer-scheduler", "outcome": outcome}))
	}
	if got := value(schedulerMetrics(t), "rebalancer_scheduler_placements_total", map[string]string{"nodeclass": "arm"}); got <= placedOnArm {
		t.Errorf("rebalancer_scheduler_placements_total{nodeclass=\"arm\"} = %v, want more than %v", got, placedOnArm)
	}
}

// Playbook 5: a system-cluster-critical pod is never a candidate, even opted in and on a hot node.
func TestPriorityGuardrails(t *testing.T) {
	w := workload{name: "e2e-critical", namespace: metav1.NamespaceSystem, replicas: 4, use: hotUsage, optIn: true,
		priorityClass: "system-cluster-critical"}
	t.Cleanup(func() {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.namespace}}
		if err := env.c.Delete(context.Background(), d); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("Deleting %s: %v", w.name, err)
		}
		waitUntil(t, 2*time.Minute, "the critical pods are gone", func(context.Context) (bool, error) {
			return len(podsOf(t, w)) == 0, nil
		})
	})
	placeOn(t, w)
	before := uids(t, w)
	skipped := value(evictorMetrics(t), "rebalancer_skipped_candidates_total", map[string]string{"reason": "SystemCritical"})
	// Every namespace, kube-system included, so that only the priority rule holds the pods back.
	policy(t, false, func(s *v1alpha1.RebalancePolicySpec) { s.Namespaces = nil })

	waitUntil(t, 4*time.Minute, "the critical pods are filtered", func(context.Context) (bool, error) {
		return value(evictorMetrics(t), "rebalancer_skipped_candidates_total", map[string]string{"reason": "SystemCritical"}) > skipped, nil
	})
	time.Sleep(2 * cycle)
	if n := replaced(before, uids(t, w)); n != 0 {
		t.Errorf("%d system-cluster-critical pods were replaced, want 0", n)
	}
	if n := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": w.namespace}); n != 0 {
		t.Errorf("rebalancer_evictions_total{namespace=%q} = %v, want 0", w.namespace, n)
	}
}

func sameKeys(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// replaced counts the pods of before that are gone from after.
func replaced(before, after map[string]string) int {
	n := 0
	for k := range before {
		if _, ok := after[k]; !ok {
			n++
		}
	}
	return n
}

func running(t *testing.T, w workload) int {
	t.Helper()
	n := 0
	for _, p := range podsOf(t, w) {
		if p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// schedulerMetrics scrapes the rebalancer-scheduler's /metrics (its serving certificate is
// self-signed; /metrics is in --authorization-always-allow-paths).
func schedulerMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own loopback scheduler
	resp, err := c.Get("https://" + schedulerAddr + "/metrics")                                           //nolint:noctx // a loopback URL
	if err != nil {
		t.Fatalf("Scraping the scheduler: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Scraping the scheduler: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("parsing the scheduler's metrics: %w", err))
	}
	return mfs
}
