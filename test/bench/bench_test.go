package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinorodney/rebalancer/evictor/whatif"
)

// TestBenchOnASmallCluster runs the benchmark end to end on its 20-node mixed cluster with the
// most skew: the Rebalancer, descheduler's LowNodeUtilization and no rebalancing through the
// simulator, then the report and the plot. It keeps the benchmark building and honest between
// runs of make decision-bench; the figures themselves are in docs/decision-quality.md.
func TestBenchOnASmallCluster(t *testing.T) {
	var sc scenario
	for _, s := range scenarios(true) {
		if s.nodes == 20 && s.mixed && s.hot == skews[len(skews)-1] {
			sc = s
		}
	}
	r, err := runScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	if r.ours.LowerBound == 0 || r.desch.LowerBound != r.ours.LowerBound {
		t.Errorf("lower bounds: ours %d, descheduler's %d; want the same, above 0", r.ours.LowerBound, r.desch.LowerBound)
	}
	if r.ours.Evictions == 0 || r.desch.Evictions == 0 || r.no.Evictions != 0 {
		t.Errorf("evictions: rebalancer %d, descheduler %d, none %d; want both deciders to act and none not to",
			r.ours.Evictions, r.desch.Evictions, r.no.Evictions)
	}
	if r.ours.FinalSigma >= r.no.FinalSigma || r.desch.FinalSigma >= r.no.FinalSigma {
		t.Errorf("final sigma: rebalancer %.4f, descheduler %.4f, none %.4f; want both below none", r.ours.FinalSigma, r.desch.FinalSigma, r.no.FinalSigma)
	}
	// The policy's destinations are Cold: the simulator, classifying on its own, should agree.
	if r.ours.ColdShare() < targetOnCold {
		t.Errorf("%.0f%% of the Rebalancer's replacements on cold nodes (%d/%d), want >= %.0f%%", 100*r.ours.ColdShare(), r.ours.OnCold, r.ours.Placed, 100*targetOnCold)
	}

	// Pods left on the default scheduler: every move confirmed by its profile, so every
	// replacement lands in the predicted set (20 nodes: no sampling), on a cold node, never hot.
	d := r.oursDefault
	for _, x := range []whatif.Result{r.ours, d} {
		if x.Predicted == 0 || x.AsPredicted != x.Predicted || x.OnHot != 0 {
			t.Errorf("%s: %d of %d replacements where predicted, %d on hot nodes; want all, and none", x.Decider, x.AsPredicted, x.Predicted, x.OnHot)
		}
	}
	if d.Placed > 0 && d.ColdShare() < targetOnCold {
		t.Errorf("default scheduler: %.0f%% of replacements on cold nodes (%d/%d), want >= %.0f%%", 100*d.ColdShare(), d.OnCold, d.Placed, 100*targetOnCold)
	}

	md := markdown([]row{r}, sc, []variantRow{{defaultPolicy, r.ours}})
	for _, want := range []string{"| " + sc.name + " | rebalancer |", "| " + sc.name + " | rebalancer (default scheduler) |", "| " + sc.name + " | descheduler |", "| " + sc.name + " | none |",
		"| **clusters meeting it** |", "| the default policy |", "| most evictions in a cycle | minutes to balance |\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := plotRows([]row{r}, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 200 || cfg.Height < 200 {
		t.Errorf("plot: %v, %dx%d", err, cfg.Width, cfg.Height)
	}
}
