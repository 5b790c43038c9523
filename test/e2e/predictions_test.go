//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/metrics"
)

// extraNodes are x86 nodes this test adds, as cold destinations, and removes when it ends.
var extraNodes = []string{"x86-4", "x86-5", "x86-6", "x86-7"}

// outcomes are the values of rebalancer_placement_predictions_total's outcome label.
var outcomes = []string{metrics.OutcomeExact, metrics.OutcomeCold, metrics.OutcomeNotHot, metrics.OutcomeHot, metrics.OutcomeUnscheduled}

// Where replacements land, measured live against the real schedulers: the cluster's default
// kube-scheduler (the binary built from the pinned Kubernetes version) and the Rebalancer's
// scheduler. In one round per scheduler, the three x86 servers start full (8 workloads x 12
// pods of 250m CPU: pressure 1.0) and four empty x86 servers and the two Pis are cold; the
// evictor, in live mode, moves pods until no node is hot. The evictor's own count of where each
// replacement landed against its prediction (rebalancer_placement_predictions_total) must say
// "exact" for at least 95% of at least 50 evictions, and none on a hot node. For the
// Rebalancer's scheduler, which follows the evictor's steer, the API server's own records are
// checked too: each replacement runs on the destination written in the policy's ledger.
func TestPredictionsAcrossSchedulers(t *testing.T) {
	for _, n := range extraNodes {
		if _, err := sandbox("node", clusterName, "x86", n); err != nil {
			t.Fatalf("Adding node %s: %v", n, err)
		}
	}
	t.Cleanup(func() {
		for _, n := range extraNodes {
			if err := kubectl("delete", "node", n, "--wait=false"); err != nil {
				t.Errorf("Deleting node %s: %v", n, err)
			}
		}
	})
	waitUntil(t, 2*time.Minute, "the node agent runs on the added nodes", func(ctx context.Context) (bool, error) {
		pods := &corev1.PodList{}
		if err := env.c.List(ctx, pods, client.InNamespace("infra"), client.MatchingLabels{"app": "node-agent"}); err != nil {
			return false, err
		}
		on := map[string]bool{}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				on[p.Spec.NodeName] = true
			}
		}
		for _, n := range extraNodes {
			if !on[n] {
				return false, nil
			}
		}
		return true, nil
	})

	total := map[string]float64{}
	for _, sched := range []string{corev1.DefaultSchedulerName, v1alpha1.SchedulerName} {
		t.Run(sched, func(t *testing.T) {
			got := predictionRound(t, sched)
			for k, v := range got {
				total[k] += v
			}
		})
	}
	n := 0.0
	for _, o := range outcomes {
		n += total[o]
	}
	t.Logf("Both schedulers: %v replacements followed, %v exact (%.1f%%), outcomes %v", n, total[metrics.OutcomeExact], 100*total[metrics.OutcomeExact]/max(n, 1), total)
	if n < 50 {
		t.Errorf("%v evictions followed over both schedulers, want at least 50", n)
	}
	if total[metrics.OutcomeExact] < 0.95*n {
		t.Errorf("%v of %v replacements landed as predicted, want at least 95%%", total[metrics.OutcomeExact], n)
	}
	if total[metrics.OutcomeHot] != 0 {
		t.Errorf("%v replacements landed on a hot node, want none", total[metrics.OutcomeHot])
	}
}

// predictionRound runs one round with pods on scheduler sched and returns how the evictor
// counted the round's replacements, by outcome.
func predictionRound(t *testing.T, sched string) map[string]float64 {
	ns := "e2e-predict-" + map[string]string{corev1.DefaultSchedulerName: "default", v1alpha1.SchedulerName: "ours"}[sched]
	namespace(t, ns)
	var ws []workload
	for i := range 8 {
		w := workload{name: fmt.Sprintf("svc-%d", i), namespace: ns, replicas: 12, use: usage{cpu: "250m", memory: "256Mi"}, optIn: true}
		if sched == corev1.DefaultSchedulerName {
			w.scheduler = corev1.DefaultSchedulerName
		}
		ws = append(ws, w)
	}
	placeOnNodes(t, x86Nodes, ws...)
	before := predictionCounts(t, sched)
	evictedBefore := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": ns})
	start := time.Now()
	policy(t, false, func(s *v1alpha1.RebalancePolicySpec) {
		s.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](10), MaxEvictionsPerNodePerCycle: ptr.To[int32](4), MaxEvictionsPerHour: ptr.To[int32](500)}
		s.PodBackoff = &metav1.Duration{}
	})

	var evicted float64
	waitUntil(t, 6*time.Minute, "no node is hot and every eviction is followed", func(context.Context) (bool, error) {
		mfs := evictorMetrics(t)
		for _, n := range x86Nodes {
			if value(mfs, "rebalancer_node_classification", map[string]string{"node": n, "classification": "hot"}) != 0 {
				return false, nil
			}
		}
		evicted = value(mfs, "rebalancer_evictions_total", map[string]string{"namespace": ns}) - evictedBefore
		followed := 0.0
		now := predictionCounts(t, sched)
		for _, o := range outcomes {
			followed += now[o] - before[o]
		}
		return evicted > 0 && followed >= evicted, nil
	})
	after := predictionCounts(t, sched)
	got := map[string]float64{}
	for _, o := range outcomes {
		got[o] = after[o] - before[o]
	}
	t.Logf("%s: %v evictions in %s; outcomes %v", sched, evicted, time.Since(start).Round(time.Second), got)
	logMispredictions(t, ns, start)
	if evicted < 20 {
		t.Errorf("%v evictions, want at least 20 (the three x86 servers start at pressure 1.0 and cool under 0.70)", evicted)
	}
	if sched == v1alpha1.SchedulerName {
		checkSteeredFromRecords(t, ns, ws)
	}
	return got
}

// logMispredictions logs the evictor's PlacementMispredicted events since start about the pods
// of namespace ns (each says where the replacement landed and what was predicted), so a run's
// misses can be told apart without the evictor's logs.
func logMispredictions(t *testing.T, ns string, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs := &eventsv1.EventList{}
	if err := env.c.List(ctx, evs); err != nil {
		t.Errorf("Listing events: %v", err)
		return
	}
	missed := false
	for _, e := range evs.Items {
		if e.Reason == "PlacementMispredicted" && strings.Contains(e.Note, ns+"/") && !e.EventTime.Time.Before(start.Add(-time.Second)) {
			t.Logf("%s %s", e.EventTime.UTC().Format(time.TimeOnly), e.Note)
			missed = true
		}
	}
	if !missed {
		return
	}
	// The round's timeline: each eviction in the ledger (where it was planned to land) and each
	// replacement (when it was created, when scheduled, where), by time.
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for _, d := range policyNow(t).Status.Ledger {
		if d.Namespace == ns && !d.Time.Before(&metav1.Time{Time: start.Add(-time.Second)}) {
			lines = append(lines, line{d.Time.Time, fmt.Sprintf("evicted %s from %s, planned on %s", d.Pod, d.Node, d.Destination)})
		}
	}
	pods := &corev1.PodList{}
	if err := env.c.List(ctx, pods, client.InNamespace(ns)); err != nil {
		t.Errorf("Listing the pods of %s: %v", ns, err)
		return
	}
	for _, p := range pods.Items {
		if p.CreationTimestamp.Time.Before(start) {
			continue
		}
		scheduled := "not scheduled"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
				scheduled = "scheduled " + c.LastTransitionTime.UTC().Format(time.TimeOnly)
			}
		}
		lines = append(lines, line{p.CreationTimestamp.Time, fmt.Sprintf("created %s, %s, on %q", p.Name, scheduled, p.Spec.NodeName)})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	for _, l := range lines {
		t.Logf("  %s %s", l.at.UTC().Format(time.TimeOnly), l.text)
	}
}

func predictionCounts(t *testing.T, sched string) map[string]float64 {
	mfs := evictorMetrics(t)
	out := map[string]float64{}
	for _, o := range outcomes {
		out[o] = value(mfs, "rebalancer_placement_predictions_total", map[string]string{"scheduler": sched, "outcome": o})
	}
	return out
}

// checkSteeredFromRecords checks from the API server's own records that the Rebalancer's
// scheduler followed the steers: per workload, the destinations written in the policy's ledger
// and the nodes of the replacement pods (created since the first eviction) are compared as
// multisets (a workload's pods are alike, and with podBackoff 0 several of its evictions share a
// second, so which replacement answers which eviction cannot be told); at least 95% of the
// destinations must be matched by a replacement on that node.
func checkSteeredFromRecords(t *testing.T, ns string, ws []workload) {
	t.Helper()
	var p v1alpha1.RebalancePolicy
	if err := env.c.Get(ctxFor(t), client.ObjectKey{Name: "default"}, &p); err != nil {
		t.Fatalf("Reading the policy: %v", err)
	}
	entries := map[string][]v1alpha1.Disruption{} // by ReplicaSet name
	for _, d := range p.Status.Ledger {
		if d.Namespace != ns {
			continue
		}
		if d.Destination == "" || d.DestinationExpires == nil {
			t.Errorf("ledger entry for %s/%s has no steer (destination %q, expires %v)", d.Namespace, d.Pod, d.Destination, d.DestinationExpires)
		}
		rs, ok := strings.CutPrefix(d.Workload, "ReplicaSet/")
		if !ok {
			t.Errorf("ledger entry for %s/%s names workload %q, want a ReplicaSet", d.Namespace, d.Pod, d.Workload)
			continue
		}
		entries[rs] = append(entries[rs], d)
	}
	checked, matched := 0, 0
	for _, w := range ws {
		landed := map[string]map[string]int{} // ReplicaSet -> node -> replacements
		for _, pod := range podsOf(t, w) {
			ref := metav1.GetControllerOf(&pod)
			if ref == nil || len(entries[ref.Name]) == 0 || pod.CreationTimestamp.Before(ptr.To(metav1.NewTime(entries[ref.Name][0].Time.Add(-time.Second)))) {
				continue
			}
			if landed[ref.Name] == nil {
				landed[ref.Name] = map[string]int{}
			}
			landed[ref.Name][pod.Spec.NodeName]++
		}
		for rs, nodes := range landed {
			steered := map[string]int{}
			for _, d := range entries[rs] {
				steered[d.Destination]++
			}
			for node, n := range steered {
				checked += n
				matched += min(n, nodes[node])
				if nodes[node] < n {
					t.Logf("ReplicaSet %s: %d evictions steered to %s, %d replacements run there (replacements by node: %v)", rs, n, node, nodes[node], nodes)
				}
			}
		}
	}
	t.Logf("From the API server's records: %d of %d steered destinations have a replacement running there", matched, checked)
	if checked < 20 || float64(matched) < 0.95*float64(checked) {
		t.Errorf("%d of %d steered destinations have a replacement running there, want at least 95%% of at least 20", matched, checked)
	}
}
