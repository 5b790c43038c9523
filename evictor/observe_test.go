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
}
