package planner_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

func TestNamespaceBudgetsLeft(t *testing.T) {
	disruption := func(ns string, ago time.Duration) v1alpha1.Disruption {
		return v1alpha1.Disruption{Time: metav1.NewTime(now.Add(-ago)), Namespace: ns, Pod: "p"}
	}
	policy := &v1alpha1.RebalancePolicy{Spec: v1alpha1.RebalancePolicySpec{NamespaceBudgets: []v1alpha1.NamespaceBudget{
		{Namespace: "prod", MaxDisruptionsPerHour: 3}, {Namespace: "batch", MaxDisruptionsPerHour: 1},
	}}, Status: v1alpha1.RebalancePolicyStatus{Ledger: []v1alpha1.Disruption{
		disruption("prod", 10*time.Minute), disruption("prod", 2*time.Hour), disruption("batch", 59*time.Minute),
	}}}
	move := func(ns string) planner.Move { return planner.Move{Pod: planner.PodRef{Namespace: ns, Name: "m"}} }
	held := func(ns string, code planner.ReasonCode) planner.HeldBack {
		return planner.HeldBack{Pod: planner.PodRef{Namespace: ns, Name: "h"}, Reasons: []planner.Reason{{Code: code}}}
	}
	for _, tc := range []struct {
		name string
		res  planner.Result
		want map[string]int
	}{
		// prod: 3 - 1 in the hour (the one 2h ago has expired); batch: 1 - 1.
		{"ledger only", planner.Result{Time: now}, map[string]int{"prod": 2, "batch": 0}},
		// A live plan spends its moves; web has no budget: unlimited.
		{"live moves", planner.Result{Time: now, Moves: []planner.Move{move("prod"), move("web")}}, map[string]int{"prod": 1, "batch": 0, "web": planner.Unlimited}},
		// A dry-run plan spends nothing.
		{"dry-run moves", planner.Result{Time: now, DryRun: true, Moves: []planner.Move{move("prod")}}, map[string]int{"prod": 2, "batch": 0}},
		// Held-back candidates make their namespace show, unless they are not opted in.
		{"held back", planner.Result{Time: now, HeldBack: []planner.HeldBack{held("api", planner.ReasonPDBNoDisruptions), held("kube-system", planner.ReasonNotOptedIn)}},
			map[string]int{"prod": 2, "batch": 0, "api": planner.Unlimited}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, planner.NamespaceBudgetsLeft(policy, &tc.res)); diff != "" {
				t.Errorf("budgets left (-want,+got):\n%s", diff)
			}
		})
	}
}
