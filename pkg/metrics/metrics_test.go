package metrics

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestNamesAreRegisteredAndDocumented registers both sets into one registry (as a single binary
// could), touches every metric, and checks every gathered name is listed in Names with help text.
func TestNamesAreRegisteredAndDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, s := NewEvictor(), NewScheduler()
	if err := e.Register(reg); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Collectors() {
		if c == s.BuildInfo {
			continue // one rebalancer_build_info per binary
		}
		reg.MustRegister(c)
	}
	e.NodeUtilization.WithLabelValues("n1", ResourceCPU).Set(0.5)
	e.Sigma.WithLabelValues("default").Set(0.1)
	e.Evictions.WithLabelValues("prod", "LowersSigma").Inc()
	e.DryRunEvictions.Inc()
	e.BudgetRemaining.WithLabelValues("prod").Set(-1)
	e.NodeClassification.WithLabelValues("n1", "hot").Set(1)
	e.PlanDuration.Observe(0.01)
	e.CycleDuration.Observe(0.02)
	e.EvictionResponses.WithLabelValues("201").Inc()
	e.SkippedCandidates.WithLabelValues("PDBAllowsNoDisruption").Inc()
	e.LowerBound.WithLabelValues("default").Set(1)
	e.PlannedMoves.WithLabelValues("default").Set(1)
	e.UsageSourceErrors.Inc()
	e.ReplacementOutcomes.WithLabelValues("Cooled").Inc()
	e.PlacementPredictions.WithLabelValues("default-scheduler", OutcomeExact).Inc()
	e.ExcludedNodes.WithLabelValues("default", "NoReading").Set(1)
	s.Placements.WithLabelValues("rpi4", "cold").Inc()
	s.ScoreDuration.Observe(1e-6)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
		if !strings.HasPrefix(mf.GetName(), "rebalancer_") || mf.GetHelp() == "" {
			t.Errorf("metric %s: want prefix rebalancer_ and help text", mf.GetName())
		}
	}
	want := Names()
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("gathered %v\nNames()  %v", got, want)
	}
}
