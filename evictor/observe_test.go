package evictor

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// Gauges of a node that is gone, and of a deleted policy, are removed, not exported forever with
// their last values.
func TestGaugesOfGoneNodesAndPolicies(t *testing.T) {
	r := &Reconciler{Metrics: metrics.NewEvictor()}
	p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	node := func(name string) planner.NodeReport {
		return planner.NodeReport{Name: name, CPU: 0.5, Memory: 0.5, Score: 0.5, State: scoring.NodeState{Class: scoring.Hot}}
	}
	count := func() (int, int, int) {
		return testutil.CollectAndCount(r.Metrics.NodeUtilization), testutil.CollectAndCount(r.Metrics.NodeClassification), testutil.CollectAndCount(r.Metrics.Sigma)
	}
	r.recordMetrics(p, &planner.Result{Nodes: []planner.NodeReport{node("a"), node("b")}, SigmaBefore: 0.1})
	if u, c, s := count(); u != 6 || c != 6 || s != 1 {
		t.Fatalf("two nodes: %d utilisation, %d classification, %d sigma series; want 6, 6, 1", u, c, s)
	}
	r.recordMetrics(p, &planner.Result{Nodes: []planner.NodeReport{node("a")}, SigmaBefore: 0.1})
	if u, c, _ := count(); u != 3 || c != 3 {
		t.Errorf("node b gone: %d utilisation, %d classification series; want 3 and 3", u, c)
	}
	r.forgetMetrics(p.Name, r.states.forget(p.Name))
	if u, c, s := count(); u != 0 || c != 0 || s != 0 {
		t.Errorf("policy deleted: %d utilisation, %d classification, %d sigma series; want none", u, c, s)
	}
	if n := testutil.CollectAndCount(r.Metrics.ExcludedNodes); n != 0 {
		t.Errorf("policy deleted: %d excluded-nodes series, want none", n)
	}
	if n := testutil.CollectAndCount(r.Metrics.PlanStoppedBy); n != 0 {
		t.Errorf("policy deleted: %d stopped-by series, want none", n)
	}
}

// rebalancer_plan_stopped_by holds one series per policy, the last plan's reason at 1: the
// reason of the plan before is gone, and another policy's is kept.
func TestPlanStoppedBy(t *testing.T) {
	r := &Reconciler{Metrics: metrics.NewEvictor()}
	p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	other := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "batch"}}
	held := func(code planner.ReasonCode) []planner.HeldBack {
		return []planner.HeldBack{{Reasons: []planner.Reason{{Code: code}}}}
	}
	r.recordMetrics(other, &planner.Result{})
	r.recordMetrics(p, &planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: held(planner.ReasonCycleLimit)})
	r.recordMetrics(p, &planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: held(planner.ReasonUncertainDestination)})
	if n := testutil.CollectAndCount(r.Metrics.PlanStoppedBy); n != 2 {
		t.Fatalf("%d stopped-by series, want one per policy", n)
	}
	for _, want := range [][2]string{{"batch", planner.StopNothingHot}, {"default", planner.StopUncertainDestination}} {
		if v := testutil.ToFloat64(r.Metrics.PlanStoppedBy.WithLabelValues(want[0], want[1])); v != 1 {
			t.Errorf("%v = %v, want 1", want, v)
		}
	}
	// Asking for a series makes it; none was missing.
	if n := testutil.CollectAndCount(r.Metrics.PlanStoppedBy); n != 2 {
		t.Errorf("%d stopped-by series after reading the expected two: the expected ones were not there", n)
	}
}
