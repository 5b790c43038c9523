package main

import (
	"encoding/json"
	"image/png"
	"math"
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

	// The sensitivity table's rows on the default scheduler run on it: its default-policy row is
	// the main table's default-scheduler run again (the runs are seeded), and under NotHot no
	// replacement it places lands on a hot node or outside the predicted set either.
	st, err := setup(sc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := runVariant(st, defaultPolicyDefaultScheduler)
	if err != nil {
		t.Fatal(err)
	}
	if again.Evictions != d.Evictions || again.FinalSigma != d.FinalSigma {
		t.Errorf("the default policy on the default scheduler: %d evictions, sigma %.4f; the main table's run: %d, %.4f", again.Evictions, again.FinalSigma, d.Evictions, d.FinalSigma)
	}
	var notHotDefault variant
	for _, v := range variants {
		if v.defaultScheduler {
			notHotDefault = v
		}
	}
	if notHotDefault.change == nil {
		t.Fatal("no policy variant runs on the default scheduler")
	}
	nh, err := runVariant(st, notHotDefault)
	if err != nil {
		t.Fatal(err)
	}
	if nh.Evictions == 0 || nh.AsPredicted != nh.Predicted || nh.OnHot != 0 {
		t.Errorf("%s: %d evictions, %d of %d replacements where predicted, %d on hot nodes; want some, all, and none", notHotDefault.name, nh.Evictions, nh.AsPredicted, nh.Predicted, nh.OnHot)
	}

	md := markdown([]row{r}, sc, []variantRow{{defaultPolicy, r.ours}, {defaultPolicyDefaultScheduler, d}, {notHotDefault, nh}})
	for _, want := range []string{"| " + sc.name + " | rebalancer |", "| " + sc.name + " | rebalancer (default scheduler) |", "| " + sc.name + " | descheduler |", "| " + sc.name + " | none |",
		"| **clusters meeting it** |", "| the default policy |", "| the default policy, pods on the default scheduler |", "| destinations NotHot, pods on the default scheduler |", "| replacements on cold nodes | on hot nodes |\n", "| most evictions in a cycle | why the cycles stopped | minutes to balance | sigma without noise start → end | after sigma stopped falling, old rule on the noisy readings |\n"} {
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

// TestPlateau checks when sigma counts as having stopped falling: on the noise-free sigma, from
// the first cycle whose later evictions together earned no more than a tenth of what as many
// evictions earned on average over the run.
func TestPlateau(t *testing.T) {
	// run builds a result from the noise-free sigma after the last cycle and (noise-free sigma at
	// the start of a cycle, evictions in it) pairs; the readings' sigma is the same.
	run := func(final float64, cycles ...[2]float64) whatif.Result {
		r := whatif.Result{FinalTrueSigma: final}
		for i, c := range cycles {
			cr := whatif.CycleResult{Cycle: i + 1, TrueSigma: c[0], Sigma: c[0], Evictions: int(c[1])}
			r.Evictions += cr.Evictions
			r.Cycles = append(r.Cycles, cr)
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		r         whatif.Result
		want      plateau
		wantNoisy int
	}{
		{name: "no eviction", r: run(0.2, [2]float64{0.2, 0}, [2]float64{0.2, 0})},
		{
			// Each of the last evictions earns 0.0002 against 0.0016 on average (an eighth, above
			// a tenth): still falling. The old rule's fixed 0.002 is more than both earn, so it
			// counted them.
			name:      "slow real progress to the end",
			wantNoisy: 2,
			r:         run(0.0904, [2]float64{0.1, 4}, [2]float64{0.0908, 0}, [2]float64{0.0908, 1}, [2]float64{0.0906, 1}, [2]float64{0.0904, 0}),
		},
		{
			// 10 evictions from cycle 3 on earn 0.0001 together, against 0.0099 earned by 12 (about an
			// eightieth of the average each): sigma stopped falling at the start of cycle 2, the
			// last cycle before them.
			name:      "a flat tail of evictions",
			wantNoisy: 10,
			r: run(0.0901, [2]float64{0.1, 2}, [2]float64{0.0902, 0}, [2]float64{0.0902, 5}, [2]float64{0.0901, 5},
				[2]float64{0.0901, 0}),
			want: plateau{late: 10, cycle: 2, change: -0.0001},
		},
		{
			// Evictions that only raised sigma: it never fell, every eviction counts.
			name:      "evictions that raise sigma",
			wantNoisy: 1,
			r:         run(0.102, [2]float64{0.1, 1}, [2]float64{0.101, 1}, [2]float64{0.102, 0}),
			want:      plateau{late: 2, cycle: 1, change: 0.002},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := plateauOf(tc.r)
			if got.late != tc.want.late || got.cycle != tc.want.cycle || math.Abs(got.change-tc.want.change) > 1e-9 {
				t.Errorf("plateauOf = %+v, want %+v", got, tc.want)
			}
			if n := afterNoisyPlateau(tc.r); n != tc.wantNoisy {
				t.Errorf("old rule on the noisy readings: %d evictions after sigma stopped, want %d", n, tc.wantNoisy)
			}
		})
	}
}

// TestLongestFirst: with -parallel the largest mixed clusters start first, and every cluster
// runs once.
func TestLongestFirst(t *testing.T) {
	scs := scenarios(false)
	order := longestFirst(scs)
	var got []string
	seen := map[int]bool{}
	for _, i := range order {
		if seen[i] {
			t.Fatalf("cluster %d twice in %v", i, order)
		}
		seen[i] = true
		got = append(got, scs[i].name)
	}
	if len(order) != len(scs) {
		t.Fatalf("order %v has %d clusters, want %d", order, len(order), len(scs))
	}
	want := []string{"2000 nodes, mixed, 30% hot", "2000 nodes, mixed, 10% hot", "2000 nodes, uniform, 30% hot", "2000 nodes, uniform, 10% hot", "200 nodes, mixed, 30% hot"}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("start %d: %q, want %q (order %q)", i, got[i], w, got)
		}
	}
	if last := got[len(got)-1]; last != "20 nodes, uniform, 10% hot" {
		t.Errorf("last: %q, want the smallest uniform cluster", last)
	}
}

// TestStationaryStops: the reasons the stationary cycles stopped, the most common first, the
// cycles before them left out.
func TestStationaryStops(t *testing.T) {
	var r whatif.Result
	for i := range cycles {
		stop := "CycleLimit" // before the stationary cycles: not counted
		switch {
		case i < cycles-stationary:
		case i%5 == 0:
			stop = "ConfirmationLimit"
		default:
			stop = "Backoff"
		}
		r.Cycles = append(r.Cycles, whatif.CycleResult{Cycle: i + 1, Stopped: stop})
	}
	if got, want := stationaryStops(r), "Backoff ×40, ConfirmationLimit ×10"; got != want {
		t.Errorf("stationaryStops = %q, want %q", got, want)
	}
	if got, want := stops(r.Cycles), "CycleLimit ×80, Backoff ×40, ConfirmationLimit ×10"; got != want {
		t.Errorf("stops over the run = %q, want %q", got, want)
	}
	if got := stationaryStops(whatif.Result{}); got != "no reason recorded" {
		t.Errorf("no cycles: %q", got)
	}
}

// TestReplaceFile: the -json file is replaced whole, through a temporary file that is gone after.
func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.json")
	for _, content := range []string{`[{"cluster":"first"}]`, `[{"cluster":"second"}]`} {
		if err := replaceFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("file holds %q, want %q", got, content)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("directory holds %v, want only runs.json", names)
		}
	}
}

// TestWriteJSONKeepsTheVariants: -json holds each cluster's four runs, then each policy variant's
// run on the sensitivity cluster under a name of its own, so that the sensitivity table's figures
// can be looked into cycle by cycle too.
func TestWriteJSONKeepsTheVariants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.json")
	rows := []row{{sc: scenario{name: "20 nodes, mixed, 10% hot"}, ours: whatif.Result{Decider: "rebalancer", Evictions: 3}}}
	vrows := []variantRow{{variant{name: "destinations NotHot, pods on the default scheduler"}, whatif.Result{Decider: "rebalancer", Evictions: 7}}}
	if err := writeJSON(path, rows, rows[0].sc.name, vrows); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Cluster string          `json:"cluster"`
		Runs    []whatif.Result `json:"runs"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Cluster != "20 nodes, mixed, 10% hot" || len(got[0].Runs) != 4 || got[0].Runs[0].Evictions != 3 ||
		got[1].Cluster != "20 nodes, mixed, 10% hot, destinations NotHot, pods on the default scheduler" || len(got[1].Runs) != 1 || got[1].Runs[0].Evictions != 7 {
		t.Errorf("-json holds %s", data)
	}
}
