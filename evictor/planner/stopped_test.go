package planner_test

import (
	"testing"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestStopped: what kept a plan from doing more, as the evictor's status, `rebalancer plan` and
// the simulator say it, and how many candidates it held back. A cycle whose engine runs ran out
// says so even when backoff or a budget held some pods; so does a cycle held back by the
// scheduler's draw.
func TestStopped(t *testing.T) {
	held := func(codes ...planner.ReasonCode) planner.HeldBack {
		h := planner.HeldBack{}
		for _, c := range codes {
			h.Reasons = append(h.Reasons, planner.Reason{Code: c})
		}
		return h
	}
	heldBack := func(hs ...planner.HeldBack) []planner.HeldBack { return hs }
	cases := []struct {
		name string
		res  planner.Result
		want string
		n    int
	}{
		{"a blocker", planner.Result{HotNodes: 2, Blockers: []planner.Blocker{{Condition: v1alpha1.ConditionMetricsAvailable, Reason: v1alpha1.ReasonMetricsStale}}},
			v1alpha1.ReasonMetricsStale, 0},
		{"outside a disruption window", planner.Result{HotNodes: 2, ColdNodes: 1, Deferred: []planner.Move{{}, {}}, HeldBack: heldBack(held(planner.ReasonOutsideWindow), held(planner.ReasonOutsideWindow), held(planner.ReasonBackoff))},
			string(planner.ReasonOutsideWindow), 2},
		{"nothing hot", planner.Result{ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonConfirmationLimit))}, planner.StopNothingHot, 0},
		{"the cycle's limit first", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonCycleLimit), held(planner.ReasonNodeCycleLimit), held(planner.ReasonConfirmationLimit))},
			planner.StopCycleLimit, 2},
		{"the hourly limit", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonHourlyLimit), held(planner.ReasonBackoff))}, planner.StopHourlyLimit, 1},
		{"engine runs ran out, backoff on some pods", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonConfirmationLimit))},
			planner.StopConfirmationLimit, 1},
		{"engine runs ran out, only the model's verdicts left", planner.Result{HotNodes: 2, ColdNodes: 1, Unconfirmed: 1, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonDestinationTurnsHot))},
			planner.StopConfirmationLimit, 1},
		{"the scheduler's draw, backoff on some pods", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonUncertainDestination), held(planner.ReasonDestinationTurnsHot))},
			planner.StopUncertainDestination, 1},
		{"an earlier move's draw, a budget on some pods", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonNamespaceBudget), held(planner.ReasonAfterUncertainMove), held(planner.ReasonUncertainDestination))},
			planner.StopUncertainDestination, 2},
		{"engine runs ran out before the draws", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonUncertainDestination), held(planner.ReasonConfirmationLimit))},
			planner.StopConfirmationLimit, 1},
		{"a budget", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonNamespaceBudget), held(planner.ReasonSLOBudget), held(planner.ReasonDestinationTurnsHot))},
			planner.StopBudget, 2},
		{"backoff", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonDestinationTurnsHot))}, planner.StopBackoff, 1},
		{"no destination, confirmed by the engine", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonDestinationTurnsHot), held(planner.ReasonLandsOnHotNode))},
			planner.StopNoColdDestination, 2},
		{"the most common other reason", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonPinned), held(planner.ReasonPinned), held(planner.ReasonStateful))},
			string(planner.ReasonPinned), 2},
		{"a tie goes to the rule reported first", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonSystemCritical, planner.ReasonHighPriority), held(planner.ReasonSystemCritical, planner.ReasonHighPriority))},
			string(planner.ReasonSystemCritical), 2},
		{"no candidate", planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: heldBack(held(planner.ReasonNotOptedIn))}, planner.StopNoCandidate, 0},
		{"no cold node, backoff on some pods", planner.Result{HotNodes: 2, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonDestinationNotCold))},
			planner.StopNoColdDestination, 1},
		{"no cold node, the policy's destinations NotHot", planner.Result{HotNodes: 2, NotHotDestinations: true, HeldBack: heldBack(held(planner.ReasonBackoff), held(planner.ReasonDestinationTurnsHot))},
			planner.StopBackoff, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n := tc.res.Stopped()
			if got != tc.want || n != tc.n {
				t.Errorf("Stopped() = %q, %d; want %q, %d", got, n, tc.want, tc.n)
			}
		})
	}
}

// TestPlanSaysWhatStoppedIt: a plan of a real world says what stopped it, and the policy's
// destinations reach the result.
func TestPlanSaysWhatStoppedIt(t *testing.T) {
	w := newWorld()
	w.policy.Spec.RateLimits = rateLimits(1)
	w.node("hot", 3800, 4)
	w.node("cold", 200, 2)
	w.replicas("web", 6, 500, 0.5, "hot")
	res := w.plan()
	if len(res.Moves) != 1 {
		t.Fatalf("moves %v, want 1 (the cycle's limit)", res.Moves)
	}
	if stop, n := res.Stopped(); stop != planner.StopCycleLimit || n == 0 {
		t.Errorf("Stopped() = %q, %d; want CycleLimit with the candidates it held back", stop, n)
	}
	if res.NotHotDestinations {
		t.Error("NotHotDestinations under the default destinations (Cold)")
	}
}
