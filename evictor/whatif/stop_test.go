package whatif

import (
	"strings"
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
		{"the scheduler's draw, backoff on some pods", 2, 1, []planner.HeldBack{held(code(planner.ReasonBackoff)), held(code(planner.ReasonUncertainDestination)), held(code(planner.ReasonDestinationTurnsHot))}, 0, StopUncertainDestination},
		{"an earlier move's draw, a budget on some pods", 2, 1, []planner.HeldBack{held(code(planner.ReasonNamespaceBudget)), held(code(planner.ReasonAfterUncertainMove))}, 0, StopUncertainDestination},
		{"engine runs ran out before the draws", 2, 1, []planner.HeldBack{held(code(planner.ReasonUncertainDestination)), held(code(planner.ReasonConfirmationLimit))}, 0, StopConfirmationLimit},
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

// TestVerdict: the simulation's last line says whether it converged and, if not, what held it
// back, with what the user can change when the scheduler's draw did.
func TestVerdict(t *testing.T) {
	cycle := func(stopped string, hot int) CycleResult { return CycleResult{Stopped: stopped, Hot: hot} }
	cases := []struct {
		name string
		res  Result
		// want are the verdict's parts, in order; absent must not appear.
		want   []string
		absent string
	}{
		{"converged", Result{Converged: true, ConvergedAt: 7, Cycles: []CycleResult{cycle(StopNothingHot, 0)}},
			[]string{"Converged: nothing left to do from cycle 7 on (NothingHot)"}, "Not converged"},
		{"a limit binds", Result{Remaining: 30, MaxPerHour: 60, Cycles: []CycleResult{cycle(StopHourlyLimit, 4)}},
			[]string{"Not converged after 1 cycles", "because of HourlyLimit, with 4 nodes hot", "at least 30 more evictions", "about 30m0s"}, "scores every node"},
		{"the scheduler's draw", Result{ScoringEveryNode: []string{"balanced-scheduler"}, Cycles: []CycleResult{cycle(StopBackoff, 3), cycle(StopUncertainDestination, 3)}},
			[]string{"Not converged after 2 cycles", "because of UncertainDestination, with 3 nodes hot", "scores a sample", "balanced-scheduler scores every node of this cluster, so only its ties remain uncertain"}, "more evictions"},
		{"the scheduler's draw, no scheduler scores every node", Result{Cycles: []CycleResult{cycle(StopUncertainDestination, 3)}},
			[]string{"because of UncertainDestination", "scores a sample", "no scheduler of this run scores every node"}, "ties remain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.res.verdict()
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("verdict %q: %q missing or out of order", got, w)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(got, tc.absent) {
				t.Errorf("verdict %q says %q", got, tc.absent)
			}
		})
	}
}
