package evictor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// A policy with a disruption window evicts only inside it. The evictor's clock (injected) stands a
// second before the window opens, then inside it, then at the second it closes; the API server
// is real, and what happened is read back from it.
func TestDisruptionWindow(t *testing.T) {
	opens := time.Now().UTC().Truncate(time.Minute).Add(10 * time.Minute)
	clk := clocktesting.NewFakeClock(opens.Add(-time.Second))
	s := newScenario(t)
	s.now = clk.Now() // the usage readings' time
	_, pods := skewed(s, map[string]int{"web": 3, "api": 3})
	ev := startEvictor(t, s.src, options{clock: clk})
	window := v1alpha1.DisruptionWindow{
		Schedule: fmt.Sprintf("%d %d %d %d *", opens.Minute(), opens.Hour(), opens.Day(), int(opens.Month())),
		Duration: metav1.Duration{Duration: time.Minute}, Timezone: "UTC",
	}
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.DisruptionWindows = []v1alpha1.DisruptionWindow{window}
		p.RateLimits.MaxEvictionsPerCycle, p.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](1), ptr.To[int32](1)
	})

	// A second before the window opens: planned, reported, held back, nothing evicted.
	p := s.waitCycle(clk.Now())
	if n := s.evictedCount(pods...); n != 0 {
		t.Fatalf("%d pods evicted a second before the window opens", n)
	}
	w := p.Status.DisruptionWindow
	if w == nil || w.Open || w.NextOpensAt == nil || !w.NextOpensAt.Time.Equal(opens) {
		t.Errorf("status.disruptionWindow %+v, want closed, next opening at %s", w, opens)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionDryRun); c == nil || c.Reason != v1alpha1.ReasonOutsideDisruptionWindow {
		t.Errorf("DryRun condition %+v, want reason %s", c, v1alpha1.ReasonOutsideDisruptionWindow)
	}
	if got := heldFor(p, "OutsideDisruptionWindow"); got != 1 {
		t.Errorf("held back OutsideDisruptionWindow: %d, want the 1 move the plan would make (%+v)", got, p.Status.LastPlan)
	}
	s.eventually("the dry-run counter to count the held-back move", func() bool { return testutil.ToFloat64(ev.metrics.DryRunEvictions) == 1 })
	t.Logf("before the window: nothing evicted, %d move reported (dry-run counter), next window %s", 1, w.NextOpensAt.UTC().Format(time.RFC3339))

	// Inside the window: the move is made.
	clk.SetTime(opens.Add(10 * time.Second))
	p = s.waitCycle(clk.Now())
	s.eventually("an eviction inside the window", func() bool { return s.evictedCount(pods...) == 1 })
	if w := p.Status.DisruptionWindow; w == nil || !w.Open || w.ClosesAt == nil || !w.ClosesAt.Time.Equal(opens.Add(time.Minute)) {
		t.Errorf("status.disruptionWindow %+v inside the window, want open until %s", w, opens.Add(time.Minute))
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionDryRun); c == nil || c.Reason != v1alpha1.ReasonDryRunDisabled {
		t.Errorf("DryRun condition %+v inside the window, want reason %s", c, v1alpha1.ReasonDryRunDisabled)
	}

	// The second the window closes: the other workload is still a candidate, and held back.
	clk.SetTime(opens.Add(time.Minute))
	p = s.waitCycle(clk.Now())
	if got := heldFor(p, "OutsideDisruptionWindow"); got != 1 {
		t.Errorf("held back OutsideDisruptionWindow after the window: %d, want 1 (%+v)", got, p.Status.LastPlan)
	}
	if n := s.evictedCount(pods...); n != 1 {
		t.Errorf("%d pods evicted, want the 1 evicted inside the window", n)
	}
	if w := p.Status.DisruptionWindow; w == nil || w.Open || w.NextOpensAt == nil || !w.NextOpensAt.After(opens) {
		t.Errorf("status.disruptionWindow %+v after the window, want closed with a later next opening", w)
	}
	if got := len(eventsWithReason(s.ns, "WouldEvict")); got == 0 {
		t.Error("no WouldEvict event for the moves held back outside the window")
	}
	for _, e := range eventsWithReason(s.ns, "WouldEvict") {
		if !strings.Contains(e, "Outside the disruption windows") {
			t.Errorf("WouldEvict event %q does not say the window is closed", e)
		}
	}
	t.Logf("after the window closed: %d pod evicted in all, the next move held back", s.evictedCount(pods...))
}

// heldFor is how many candidates the policy's last plan held back for the reason.
func heldFor(p *v1alpha1.RebalancePolicy, reason string) int32 {
	if p.Status.LastPlan == nil {
		return 0
	}
	for _, r := range p.Status.LastPlan.HeldBackReasons {
		if r.Reason == reason {
			return r.Count
		}
	}
	return 0
}
