package evictor

import (
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// recordMetrics exports the cycle: utilisation and classification per node, sigma, the plan's
// size, lower bound and what stopped it, candidates held back by reason, namespace budgets.
func (r *Reconciler) recordMetrics(p *v1alpha1.RebalancePolicy, res *planner.Result) {
	m := r.Metrics
	st := r.states.get(p.Name)
	current := make(map[string]bool, len(res.Nodes))
	for _, n := range res.Nodes {
		current[n.Name] = true
		m.NodeUtilization.WithLabelValues(n.Name, metrics.ResourceCPU).Set(n.CPU)
		m.NodeUtilization.WithLabelValues(n.Name, metrics.ResourceMemory).Set(n.Memory)
		m.NodeUtilization.WithLabelValues(n.Name, metrics.ResourceScore).Set(n.Score)
		for _, c := range []scoring.Class{scoring.Hot, scoring.Cold, scoring.Normal} {
			v := 0.0
			if n.State.Class == c {
				v = 1
			}
			m.NodeClassification.WithLabelValues(n.Name, c.String()).Set(v)
		}
	}
	excluded := map[string]int{planner.ExcludedNoReading: 0, planner.ExcludedStaleReading: 0, planner.ExcludedOtherPolicy: 0}
	for _, x := range res.Excluded {
		excluded[x.Code]++
		m.NodeUtilization.DeleteLabelValues(x.Name, metrics.ResourceCPU)
		m.NodeUtilization.DeleteLabelValues(x.Name, metrics.ResourceMemory)
		m.NodeUtilization.DeleteLabelValues(x.Name, metrics.ResourceScore)
	}
	// Nodes reported last cycle and not now (deleted, or left out): no stale gauge stays.
	for n := range st.reported {
		if !current[n] {
			r.deleteNodeGauges(n)
		}
	}
	st.reported = current
	for code, n := range excluded {
		m.ExcludedNodes.WithLabelValues(p.Name, code).Set(float64(n))
	}
	if len(res.Blockers) == 0 {
		m.Sigma.WithLabelValues(p.Name).Set(res.SigmaBefore)
	}
	m.LowerBound.WithLabelValues(p.Name).Set(float64(res.LowerBound))
	m.PlannedMoves.WithLabelValues(p.Name).Set(float64(len(res.Moves)))
	// One series per policy: the last plan's reason, the one before it gone.
	stop, _ := res.Stopped()
	m.PlanStoppedBy.DeletePartialMatch(map[string]string{metrics.LabelPolicy: p.Name})
	m.PlanStoppedBy.WithLabelValues(p.Name, stop).Set(1)
	for code, n := range res.HeldBackByReason() {
		m.SkippedCandidates.WithLabelValues(string(code)).Add(float64(n))
	}
	for ns, left := range planner.NamespaceBudgetsLeft(p, res) {
		m.BudgetRemaining.WithLabelValues(ns).Set(float64(left))
	}
}

// deleteNodeGauges removes a node's utilisation and classification gauges.
func (r *Reconciler) deleteNodeGauges(node string) {
	for _, res := range []string{metrics.ResourceCPU, metrics.ResourceMemory, metrics.ResourceScore} {
		r.Metrics.NodeUtilization.DeleteLabelValues(node, res)
	}
	for _, c := range []scoring.Class{scoring.Hot, scoring.Cold, scoring.Normal} {
		r.Metrics.NodeClassification.DeleteLabelValues(node, c.String())
	}
}

// forgetMetrics removes the gauges of a deleted policy and of the nodes it last reported.
func (r *Reconciler) forgetMetrics(policy string, st *policyState) {
	m := r.Metrics
	m.Sigma.DeleteLabelValues(policy)
	m.LowerBound.DeleteLabelValues(policy)
	m.PlannedMoves.DeleteLabelValues(policy)
	m.ExcludedNodes.DeletePartialMatch(map[string]string{metrics.LabelPolicy: policy})
	m.PlanStoppedBy.DeletePartialMatch(map[string]string{metrics.LabelPolicy: policy})
	if st != nil {
		for n := range st.reported {
			r.deleteNodeGauges(n)
		}
	}
}
