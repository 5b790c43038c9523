// Command bench is the decision-quality benchmark: on seeded synthetic clusters it runs the
// Rebalancer (its planner, with the opted-in pods on rebalancer-scheduler and again on the default
// scheduler), descheduler's LowNodeUtilization (v0.36.0) and no rebalancing through the same
// simulator, with noisy readings and every replacement placed by the real scheduler framework
// (pkg/placement), and writes a Markdown table and a PNG plot.
//
//	cd test/bench && go run . -parallel 2 -out ../../docs
//
// (`make decision-bench` does exactly that.)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/evictor/whatif"
)

type scenario struct {
	name  string
	nodes int
	mixed bool
	hot   float64
	seed  uint64
}

type row struct {
	sc              scenario
	ours, desch, no whatif.Result
	// oursDefault is the Rebalancer with the opted-in pods left on the default scheduler.
	oursDefault whatif.Result
	// deschRange is how descheduler's runs differed.
	deschRange runRange
}

// runRange is the range of figures over descheduler's runs.
type runRange struct {
	minSigma, maxSigma         float64
	minEvictions, maxEvictions int
}

// variant is one policy change measured on one cluster, for the sensitivity table.
type variant struct {
	name   string
	change func(*v1alpha1.RebalancePolicySpec)
	// defaultScheduler leaves the opted-in pods on the default scheduler (no schedulerName), as
	// in the main table's "rebalancer (default scheduler)" rows.
	defaultScheduler bool
}

type variantRow struct {
	v   variant
	res whatif.Result
}

const (
	// cycles: 80 to converge in, then 50 stationary ones where nothing should be evicted.
	cycles          = 130
	stationary      = 50
	noise           = 0.05
	deschedulerRuns = 3
)

// skews are the shares of nodes given extra load.
var skews = []float64{0.1, 0.3}

// defaultPolicy is the sensitivity table's first row: the cluster's own row of the main table.
var defaultPolicy = variant{name: "the default policy", change: func(*v1alpha1.RebalancePolicySpec) {}}

// defaultPolicyDefaultScheduler is the sensitivity table's second row: the cluster's
// "rebalancer (default scheduler)" row of the main table.
var defaultPolicyDefaultScheduler = variant{name: "the default policy, pods on the default scheduler", change: defaultPolicy.change, defaultScheduler: true}

// variants are the policy changes the sensitivity table measures on the largest mixed cluster.
var variants = []variant{
	{name: "minSigmaImprovement 0.0001 (the default before this benchmark)", change: func(s *v1alpha1.RebalancePolicySpec) { s.MinSigmaImprovement = ptr.To(0.0001) }},
	{name: "hysteresis over 5 readings", change: func(s *v1alpha1.RebalancePolicySpec) {
		s.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: 5, Margin: ptr.To(v1alpha1.DefaultHysteresisMargin)}
	}},
	{name: "destinations NotHot", change: notHot},
	// Whether the other destinations free the pods left on the default scheduler, which draws
	// among tied nodes and scores a sample of them: moves it may send to a node that is not cold
	// are held back under Cold, and allowed under NotHot as long as no tied node, and at most a
	// 5% chance of the sample's pick (planner.MaxMissChance), is hot or turns hot.
	{name: "destinations NotHot, pods on the default scheduler", change: notHot, defaultScheduler: true},
}

func notHot(s *v1alpha1.RebalancePolicySpec) { s.Destinations = ptr.To(v1alpha1.DestinationsNotHot) }

func scenarios(quick bool) []scenario {
	var out []scenario
	for _, nodes := range []int{20, 200, 2000} {
		if quick && nodes > 200 {
			continue
		}
		for _, mixed := range []bool{false, true} {
			for _, hot := range skews {
				kind := "uniform"
				if mixed {
					kind = "mixed"
				}
				out = append(out, scenario{name: fmt.Sprintf("%d nodes, %s, %.0f%% hot", nodes, kind, 100*hot), nodes: nodes, mixed: mixed, hot: hot, seed: uint64(len(out) + 1)})
			}
		}
	}
	return out
}

func main() {
	out := flag.String("out", "docs", "directory for decision-quality.md and sigma-vs-evictions.png")
	quick := flag.Bool("quick", false, "only the 20- and 200-node clusters")
	sizes := flag.String("sizes", "", "only the clusters of these node counts, comma-separated (of 20,200,2000); each keeps its seed")
	withVariants := flag.Bool("variants", true, "run the policy variants of the sensitivity table (on the largest mixed cluster with 10% hot)")
	parallel := flag.Int("parallel", 1, "how many clusters (and policy variants) to simulate at once; each run is seeded, so the Rebalancer's figures do not depend on it")
	dump := flag.String("json", "", "also write every run's whatif.Result, cycle by cycle, to this file (the clusters done so far, as each is done)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		// Stopped on a signal too, so a long run stopped early still leaves its profile.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(130)
		}()
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// descheduler logs a line per node per cycle; the tables say what matters.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	scs, err := only(scenarios(*quick), *sizes)
	if err != nil {
		fail(err)
	}
	rows, done := make([]row, len(scs)), make([]bool, len(scs))
	var mu sync.Mutex
	order := longestFirst(scs)
	eachAtOnce(*parallel, len(scs), func(k int) {
		i := order[k]
		start := time.Now()
		r, err := runScenario(scs[i])
		if err != nil {
			fail(fmt.Errorf("%s: %w", scs[i].name, err))
		}
		fmt.Fprintf(os.Stderr, "%s: done in %s\n", scs[i].name, time.Since(start).Round(time.Second))
		mu.Lock()
		defer mu.Unlock()
		rows[i], done[i] = r, true
		// The large clusters take most of an hour: what is done so far is kept if the run stops.
		if *dump != "" {
			var sofar []row
			for j, d := range done {
				if d {
					sofar = append(sofar, rows[j])
				}
			}
			if err := writeJSON(*dump, sofar, "", nil); err != nil {
				fail(err)
			}
		}
	})
	// The sensitivity table runs on the largest mixed cluster with the fewest hot nodes, where
	// hot nodes remain when cold room runs out.
	var sens row
	for _, r := range rows {
		if r.sc.mixed && r.sc.hot == skews[0] {
			sens = r
		}
	}
	st, err := setup(sens.sc)
	if err != nil {
		fail(err)
	}
	run := variants
	if !*withVariants {
		run = nil
	}
	const fixed = 2 // the main table's rows of the cluster, run already
	vrows := make([]variantRow, fixed+len(run))
	vrows[0] = variantRow{defaultPolicy, sens.ours}
	vrows[1] = variantRow{defaultPolicyDefaultScheduler, sens.oursDefault}
	eachAtOnce(*parallel, len(run), func(i int) {
		v := run[i]
		start := time.Now()
		res, err := runVariant(st, v)
		if err != nil {
			fail(fmt.Errorf("%s, %s: %w", sens.sc.name, v.name, err))
		}
		fmt.Fprintf(os.Stderr, "%s, %s: done in %s\n", sens.sc.name, v.name, time.Since(start).Round(time.Second))
		vrows[fixed+i] = variantRow{v, res}
	})
	if *dump != "" && len(run) > 0 {
		if err := writeJSON(*dump, rows, sens.sc.name, vrows[fixed:]); err != nil {
			fail(err)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "decision-quality.md"), []byte(markdown(rows, sens.sc, vrows)), 0o644); err != nil {
		fail(err)
	}
	if err := plotRows(rows, filepath.Join(*out, "sigma-vs-evictions.png")); err != nil {
		fail(err)
	}
}

// writeJSON writes each cluster's runs as whatif.Results, for looking into a figure of the tables,
// then each policy variant's run on the sensitivity cluster sens as a cluster of its own, named
// "<sens>, <variant>".
func writeJSON(path string, rows []row, sens string, vrows []variantRow) error {
	type runs struct {
		Cluster string          `json:"cluster"`
		Runs    []whatif.Result `json:"runs"`
	}
	var out []runs
	for _, r := range rows {
		out = append(out, runs{r.sc.name, []whatif.Result{r.ours, r.oursDefault, r.desch, r.no}})
	}
	for _, v := range vrows {
		out = append(out, runs{sens + ", " + v.v.name, []whatif.Result{v.res}})
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return replaceFile(path, data)
}

// replaceFile writes data to path through a temporary file in the same directory and a rename,
// so that a run stopped while writing (Ctrl-C) leaves the previous file whole, not a cut one.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// longestFirst orders the clusters so that the slowest start first (larger, then mixed, then more
// hot nodes), so that with -parallel the run is not left waiting on one large cluster started last.
func longestFirst(scs []scenario) []int {
	order := make([]int, len(scs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := scs[order[a]], scs[order[b]]
		if x.nodes != y.nodes {
			return x.nodes > y.nodes
		}
		if x.mixed != y.mixed {
			return x.mixed
		}
		return x.hot > y.hot
	})
	return order
}

// eachAtOnce calls f(0) … f(n-1), at most limit at a time, and returns when all have returned.
func eachAtOnce(limit, n int, f func(int)) {
	sem := make(chan struct{}, max(1, limit))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// only keeps the scenarios of the node counts in sizes ("20,2000"); all of them when it is empty.
func only(scs []scenario, sizes string) ([]scenario, error) {
	if sizes == "" {
		return scs, nil
	}
	want := map[int]bool{}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-sizes %q: %q is not a node count", sizes, f)
		}
		want[n] = true
	}
	var out []scenario
	for _, sc := range scs {
		if want[sc.nodes] {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-sizes %q: no cluster of that size (the clusters have 20, 200 and 2000 nodes; -quick leaves out 2000)", sizes)
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// setting is a generated cluster and what both deciders run under: the default policy with rate
// limits that scale with the cluster, and the simulator's options.
type setting struct {
	policy   *v1alpha1.RebalancePolicy
	dump     whatif.Dump
	opts     whatif.Options
	perCycle int32
}

func setup(sc scenario) (setting, error) {
	w := plannertest.Cluster(plannertest.Spec{Seed: sc.seed, Nodes: sc.nodes, PodsPerNode: 20, Replicas: 5, HotFraction: sc.hot, OptIn: 0.8, Mixed: sc.mixed})
	perCycle := int32(max(5, sc.nodes/20))
	policy := w.Policy.DeepCopy()
	policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To(perCycle), MaxEvictionsPerNodePerCycle: ptr.To[int32](2), MaxEvictionsPerHour: ptr.To(perCycle * 60)}
	policy.Spec.Hysteresis = nil // the default: 3 readings in a row, margin 0.05
	cfg, err := planner.Resolve(policy, w.Snapshot.PriorityClasses)
	if err != nil {
		return setting{}, err
	}
	base := whatif.Dump{Nodes: w.Snapshot.Nodes, Pods: w.Pods, PDBs: w.Snapshot.PDBs, Namespaces: w.Snapshot.Namespaces,
		PriorityClasses: w.Snapshot.PriorityClasses, NodeClasses: w.Snapshot.NodeClasses, Usage: w.Snapshot.Usage,
		Controllers: controllersOf(w.Pods)}
	// Replacements are placed, and moves confirmed, by the real scheduler framework: the default
	// profile for pods on the default scheduler, ours for rebalancer-scheduler.
	engine, err := base.Engine(context.Background(), nil)
	if err != nil {
		return setting{}, err
	}
	opts := whatif.Options{Cycles: cycles, Interval: time.Minute, Noise: noise, Seed: sc.seed, Weights: cfg.Weights,
		Hysteresis: cfg.Hysteresis, StationaryCycles: stationary, Backoff: cfg.PodBackoff, Placement: engine}
	return setting{policy, base, opts, perCycle}, nil
}

// runOurs runs the Rebalancer alone on the cluster of st, under the benchmark's policy changed by
// change; the simulator's classification stays the default policy's, so figures compare.
func runOurs(st setting, change func(*v1alpha1.RebalancePolicySpec)) (whatif.Result, error) {
	return runOursOn(st, change, v1alpha1.SchedulerName)
}

// runVariant runs the Rebalancer under v, on v's scheduler.
func runVariant(st setting, v variant) (whatif.Result, error) {
	if v.defaultScheduler {
		return runOursOn(st, v.change, "")
	}
	return runOurs(st, v.change)
}

// runOursOn runs the Rebalancer with every pod on scheduler ("" for the default scheduler).
func runOursOn(st setting, change func(*v1alpha1.RebalancePolicySpec), scheduler string) (whatif.Result, error) {
	policy := st.policy.DeepCopy()
	change(&policy.Spec)
	d := st.dump
	d.Pods = withScheduler(st.dump.Pods, scheduler)
	return whatif.Simulate(&d, &whatif.PlannerDecider{Policy: policy}, st.opts, plannertest.Now)
}

// controllersOf are the ReplicaSets and StatefulSets the pods name as controllers, each selecting
// its pods by their app label, so that kube-scheduler's default topology spreading groups them
// as it does on a real cluster.
func controllersOf(pods []*corev1.Pod) []runtime.Object {
	seen := map[string]bool{}
	var out []runtime.Object
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil || seen[p.Namespace+"/"+ref.Kind+"/"+ref.Name] {
			continue
		}
		seen[p.Namespace+"/"+ref.Kind+"/"+ref.Name] = true
		meta := metav1.ObjectMeta{Namespace: p.Namespace, Name: ref.Name, UID: ref.UID}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": p.Labels["app"]}}
		switch ref.Kind {
		case "ReplicaSet":
			out = append(out, &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: sel}})
		case "StatefulSet":
			out = append(out, &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: sel}})
		}
	}
	return out
}

func runScenario(sc scenario) (row, error) {
	st, err := setup(sc)
	if err != nil {
		return row{}, err
	}
	// Ours: pods use the Rebalancer's scheduler.
	ours, err := runOurs(st, defaultPolicy.change)
	if err != nil {
		return row{}, fmt.Errorf("rebalancer: %w", err)
	}
	// Ours again, the opted-in pods left on the default scheduler (no schedulerName), as most
	// users first run it.
	oursDefault, err := runOursOn(st, defaultPolicy.change, "")
	if err != nil {
		return row{}, fmt.Errorf("rebalancer, default scheduler: %w", err)
	}
	oursDefault.Decider = "rebalancer (default scheduler)"
	// Descheduler: pods use the default scheduler. Its plugin iterates Go maps, so the same
	// cluster and readings give different runs: the median run by final sigma is reported, with
	// the spread.
	deschDump := st.dump
	deschDump.Pods = withScheduler(st.dump.Pods, "")
	var runs []whatif.Result
	for range deschedulerRuns {
		dd := &deschedulerDecider{low: 100 * st.opts.Hysteresis.Cold, high: 100 * st.opts.Hysteresis.Hot, perNode: 2, perCycle: int(st.perCycle)}
		res, err := whatif.Simulate(&deschDump, dd, st.opts, plannertest.Now)
		dd.Close()
		if err != nil {
			return row{}, fmt.Errorf("descheduler: %w", err)
		}
		runs = append(runs, res)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].FinalSigma < runs[j].FinalSigma })
	desch := runs[len(runs)/2]
	spread := runRange{minSigma: runs[0].FinalSigma, maxSigma: runs[len(runs)-1].FinalSigma, minEvictions: desch.Evictions, maxEvictions: desch.Evictions}
	for _, r := range runs {
		spread.minEvictions, spread.maxEvictions = min(spread.minEvictions, r.Evictions), max(spread.maxEvictions, r.Evictions)
	}
	desch.LowerBound = ours.LowerBound
	none, err := whatif.Simulate(&deschDump, nothing{}, st.opts, plannertest.Now)
	if err != nil {
		return row{}, err
	}
	// Evictions to reach half the initial sigma.
	target := ours.InitialSigma / 2
	ours.ToTarget, desch.ToTarget, oursDefault.ToTarget = ours.EvictionsTo(target), desch.EvictionsTo(target), oursDefault.EvictionsTo(target)
	return row{sc: sc, ours: ours, desch: desch, no: none, oursDefault: oursDefault, deschRange: spread}, nil
}

func withScheduler(pods []*corev1.Pod, name string) []*corev1.Pod {
	out := make([]*corev1.Pod, len(pods))
	for i, p := range pods {
		c := p.DeepCopy()
		c.Spec.SchedulerName = name
		out[i] = c
	}
	return out
}

// nothing evicts nothing: the "no rebalancing" baseline.
type nothing struct{}

func (nothing) Name() string { return "none" }
func (nothing) Decide(planner.Snapshot, []*corev1.Pod, time.Time) ([]planner.PodRef, error) {
	return nil, nil
}
func (nothing) Evicted(*corev1.Pod, string, time.Time) {}
