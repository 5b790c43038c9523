package whatif

import (
	"testing"

	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestStopReason: why a cycle evicted no more, as the simulator's cycle table and its verdict say
// it. A cycle whose engine runs ran out says so, even when backoff or a budget held some pods.
func TestStopReason(t *testing.T) {
	held := func(rs ...planner.Reason) planner.HeldBack { return planner.HeldBack{Reasons: rs} }
	code := func(c planner.ReasonCode) planner.Reason { return planner.Reason{Code: c} }
	cases := []struct {
		name string
		hot  int
		held []planner.HeldBack
		// unconfirmed: candidates held back on the fast model's word alone (planner.Result.Unconfirmed)
		unconfirmed int
		want        string
	}{
		{"nothing hot", 0, []planner.HeldBack{held(code(planner.ReasonConfirmationLimit))}, 0, StopNothingHot},
		{"the cycle's limit first", 2, []planner.HeldBack{held(code(planner.ReasonCycleLimit)), held(code(planner.ReasonConfirmationLimit))}, 0, StopCycleLimit},
		{"the hourly limit", 2, []planner.HeldBack{held(code(planner.ReasonHourlyLimit)), held(code(planner.ReasonBackoff))}, 0, StopHourlyLimit},
		{"engine runs ran out, backoff on some pods", 2, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonConfirmationLimit))}, 0, StopConfirmationLimit},
		{"engine runs ran out, only the model's verdicts left", 2, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationTurnsHot))}, 1, StopConfirmationLimit},
		{"a budget", 2, []planner.HeldBack{held(code(planner.ReasonNamespaceBudget)), held(code(planner.ReasonDestinationTurnsHot))}, 0, StopBudget},
		{"backoff", 2, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonDestinationTurnsHot))}, 0, StopBackoff},
		{"no destination, confirmed by the engine", 2, []planner.HeldBack{held(code(planner.ReasonDestinationTurnsHot))}, 0, StopNoColdDestination},
		{"the most common other reason", 2, []planner.HeldBack{held(code(planner.ReasonPinned)), held(code(planner.ReasonPinned)), held(code(planner.ReasonStateful))}, 0, string(planner.ReasonPinned)},
		{"no candidate", 2, []planner.HeldBack{held(code(planner.ReasonNotOptedIn))}, 0, StopNoCandidate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &PlannerDecider{Last: planner.Result{HotNodes: tc.hot, HeldBack: tc.held, Unconfirmed: tc.unconfirmed}}
			if got := stopReason(d); got != tc.want {
				t.Errorf("stopReason = %q, want %q", got, tc.want)
			}
		})
	}
	if got := stopReason(nil); got != "" {
		t.Errorf("another decider: %q, want none", got)
	}
}
