package planner

import (
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/ledger"
)

// Unlimited is a budget's remainder when no budget applies.
const Unlimited = ledger.Unlimited

// NamespaceBudgetsLeft is what the policy's namespace budgets still allow in the hour before
// res.Time, once the plan is carried out: each budget's maximum less the disruptions of its
// namespace in the policy's ledger and, unless the plan is a dry-run, less the plan's moves there.
// Namespaces without a budget that have candidates (moved or held back for another reason than
// not being opted in) are Unlimited. The evictor publishes these, and the what-if report prints
// them, so both count alike.
func NamespaceBudgetsLeft(p *v1alpha1.RebalancePolicy, res *Result) map[string]int {
	out := map[string]int{}
	used := ledger.Used(p.Status.Ledger, res.Time).ByNamespace
	if !res.DryRun {
		for _, m := range res.Moves {
			used[m.Pod.Namespace]++
		}
	}
	for _, b := range p.Spec.NamespaceBudgets {
		out[b.Namespace] = ledger.Remaining(int(b.MaxDisruptionsPerHour), used[b.Namespace])
	}
	for _, h := range res.HeldBack {
		if _, ok := out[h.Pod.Namespace]; !ok && !h.Has(ReasonNotOptedIn) {
			out[h.Pod.Namespace] = Unlimited
		}
	}
	for _, m := range res.Moves {
		if _, ok := out[m.Pod.Namespace]; !ok {
			out[m.Pod.Namespace] = Unlimited
		}
	}
	return out
}
