package whatif

import (
	"testing"

	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestStopReason: why a cycle evicted no more, as the simulator's cycle table and its verdict say
// it. A cycle whose engine runs ran out says so, even when backoff or a budget held some pods.
func TestStopReason(t *testing.T) {
	held := func(rs ...planner.Reason) planner.HeldBack { return planner.HeldBack{Reasons: rs} }
	code := func(c planner.ReasonCode) planner.Reason { return planner.Reason{Code: c} }
	cases := []struct {
		name string
		// hot and cold count the plan's hot and cold nodes.
		hot, cold int
		held      []planner.HeldBack
		// unconfirmed: candidates held back on the fast model's word alone (planner.Result.Unconfirmed)
		unconfirmed int
		want        string
	}{
		{"nothing hot", 0, 1, []planner.HeldBack{held(code(planner.ReasonConfirmationLimit))}, 0, StopNothingHot},
		{"the cycle's limit first", 2, 1, []planner.HeldBack{held(code(planner.ReasonCycleLimit)), held(code(planner.ReasonConfirmationLimit))}, 0, StopCycleLimit},
		{"the hourly limit", 2, 1, []planner.HeldBack{held(code(planner.ReasonHourlyLimit)), held(code(planner.ReasonBackoff))}, 0, StopHourlyLimit},
		{"engine runs ran out, backoff on some pods", 2, 1, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonConfirmationLimit))}, 0, StopConfirmationLimit},
		{"engine runs ran out, only the model's verdicts left", 2, 1, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationTurnsHot))}, 1, StopConfirmationLimit},
		{"a budget", 2, 1, []planner.HeldBack{held(code(planner.ReasonNamespaceBudget)), held(code(planner.ReasonDestinationTurnsHot))}, 0, StopBudget},
		{"backoff", 2, 1, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationTurnsHot))}, 0, StopBackoff},
		{"no destination, confirmed by the engine", 2, 1, []planner.HeldBack{held(code(planner.ReasonDestinationTurnsHot))}, 0, StopNoColdDestination},
		{"the most common other reason", 2, 1, []planner.HeldBack{held(code(planner.ReasonPinned)), held(code(planner.ReasonPinned)), held(code(planner.ReasonStateful))}, 0, string(planner.ReasonPinned)},
		{"no candidate", 2, 1, []planner.HeldBack{held(code(planner.ReasonNotOptedIn))}, 0, StopNoCandidate},
		{"no cold node, backoff on some pods", 2, 0, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationNotCold))}, 0, StopNoColdDestination},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &PlannerDecider{Policy: &v1alpha1.RebalancePolicy{}, Last: planner.Result{HotNodes: tc.hot, ColdNodes: tc.cold, HeldBack: tc.held, Unconfirmed: tc.unconfirmed}}
			if got := stopReason(d); got != tc.want {
				t.Errorf("stopReason = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("no cold node, the policy's destinations NotHot", func(t *testing.T) {
		d := &PlannerDecider{Policy: &v1alpha1.RebalancePolicy{Spec: v1alpha1.RebalancePolicySpec{Destinations: ptr.To(v1alpha1.DestinationsNotHot)}},
			Last: planner.Result{HotNodes: 2, HeldBack: []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationTurnsHot))}}}
		if got := stopReason(d); got != StopBackoff {
			t.Errorf("stopReason = %q, want %q", got, StopBackoff)
		}
	})
	if got := stopReason(nil); got != "" {
		t.Errorf("another decider: %q, want none", got)
	}
}
