package whatif

import (
	"strings"
	"testing"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestStopReason: the simulator's cycle table says why a cycle evicted no more as the planner
// says it (planner.Result.Stopped, whose table test is planner's TestStopped); other deciders
// have no reason.
func TestStopReason(t *testing.T) {
	last := planner.Result{HotNodes: 2, ColdNodes: 1, HeldBack: []planner.HeldBack{
		{Reasons: []planner.Reason{{Code: planner.ReasonBackoff}}},
		{Reasons: []planner.Reason{{Code: planner.ReasonUncertainDestination}}},
	}}
	if got := stopReason(&PlannerDecider{Policy: &v1alpha1.RebalancePolicy{}, Last: last}); got != StopUncertainDestination {
		t.Errorf("stopReason = %q, want %q", got, StopUncertainDestination)
	}
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
