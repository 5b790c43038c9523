package whatif

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// Decider chooses the pods to evict in one cycle: the Rebalancer's planner, or a baseline.
type Decider interface {
	Name() string
	// Decide returns the pods to evict now. pods are the pods of s as the API returns them, for
	// deciders that read corev1.Pods.
	Decide(s planner.Snapshot, pods []*corev1.Pod, now time.Time) ([]planner.PodRef, error)
	// Evicted tells the decider an eviction happened (to keep its ledgers).
	Evicted(pod *corev1.Pod, from string, now time.Time)
}

// PlannerDecider decides with the Rebalancer's planner under a policy, keeping the ledgers in the
// policy's and WorkloadSLOs' status as the evictor does.
type PlannerDecider struct {
	Policy *v1alpha1.RebalancePolicy
	SLOs   []*v1alpha1.WorkloadSLO
	State  planner.State
	// Last is the latest plan.
	Last planner.Result
}

// Name is "rebalancer".
func (p *PlannerDecider) Name() string { return "rebalancer" }

// Interval is the policy's cycle interval.
func (p *PlannerDecider) Interval() time.Duration {
	if p.Policy != nil && p.Policy.Spec.Interval != nil && p.Policy.Spec.Interval.Duration > 0 {
		return p.Policy.Spec.Interval.Duration
	}
	return v1alpha1.DefaultInterval
}

// Decide plans.
func (p *PlannerDecider) Decide(s planner.Snapshot, _ []*corev1.Pod, now time.Time) ([]planner.PodRef, error) {
	res := planner.Plan(s, p.Policy, p.SLOs, p.State, now)
	p.State, p.Last = res.State, res
	if len(res.Blockers) > 0 {
		return nil, fmt.Errorf("the plan is blocked: %s", res.Blockers[0].Message)
	}
	out := make([]planner.PodRef, len(res.Moves))
	for i, m := range res.Moves {
		out[i] = m.Pod
	}
	return out, nil
}

// Evicted writes the eviction to the ledgers.
func (p *PlannerDecider) Evicted(pod *corev1.Pod, from string, now time.Time) {
	pp := planner.NewPod(pod)
	d := ledger.Entry(now, pod.Namespace, pod.Name, from, pp.Workload().String(), pp.Stateful())
	p.Policy.Status.Ledger = ledger.Append(p.Policy.Status.Ledger, d, now, ledger.Retention(v1alpha1.Duration(p.Policy.Spec.PodBackoff, v1alpha1.DefaultPodBackoff)))
	for _, slo := range p.SLOs {
		if slo.Namespace == pod.Namespace && selects(slo.Spec.Selector, pod.Labels) {
			slo.Status.Ledger = ledger.Append(slo.Status.Ledger, d, now, ledger.Window)
		}
	}
}

func selects(sel *metav1.LabelSelector, lbls map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labelsSet(lbls))
}

// Options shape a simulation.
type Options struct {
	Cycles   int
	Interval time.Duration
	// Noise is the relative standard deviation of each pod's usage from one reading to the next.
	Noise float64
	Seed  uint64
	// Weights measure sigma; Hysteresis classifies nodes hot and cold for the figures (the
	// policy's). The simulator runs its own classifier on the readings, the same for every
	// decider, so "replacements on cold nodes" means one thing whoever decides.
	Weights    scoring.Weights
	Hysteresis scoring.Hysteresis
	// TargetSigma, when > 0, records how many evictions it took to first reach it.
	TargetSigma float64
	// StationaryCycles are the last cycles counted as "after convergence".
	StationaryCycles int
	// Backoff is the window in which a second eviction of the same pod lineage counts as double.
	Backoff time.Duration
	// Placement places every replacement with the real scheduler framework of the scheduler the
	// pod names, and confirms the planner's moves. Required.
	Placement *placement.Engine
}

// CycleResult is one simulated cycle.
type CycleResult struct {
	Cycle int     `json:"cycle"`
	Sigma float64 `json:"sigma"`
	// TrueSigma is sigma of the pods' base usage at the start of the cycle, without the readings'
	// noise: it changes only when a pod moves, so it says what the evictions so far did.
	TrueSigma float64 `json:"sigmaWithoutNoise"`
	Hot       int     `json:"hot"`
	Cold      int     `json:"cold"`
	Evictions int     `json:"evictions"`
	Total     int     `json:"totalEvictions"`
	// AfterEach is sigma after each eviction of the cycle, on the cycle's readings with the
	// evicted pod's usage moved to where its replacement landed.
	AfterEach []float64 `json:"sigmaAfterEachEviction,omitempty"`
	// Stopped says why the cycle evicted no more (stopReason): NothingHot, NoColdDestination,
	// CycleLimit, HourlyLimit, ConfirmationLimit, UncertainDestination, Budget, Backoff, or the
	// reason that held back most candidates.
	Stopped string `json:"stoppedBecause,omitempty"`
}

// SimMove is one eviction of a simulation.
type SimMove struct {
	Cycle    int    `json:"cycle"`
	Pod      string `json:"pod"`
	Workload string `json:"workload,omitempty"`
	From     string `json:"from"`
	// PredictedTo is where the planner predicted the replacement ("" for other deciders);
	// LandedOn where the scheduler put it ("" when it stayed Pending).
	PredictedTo string  `json:"predictedTo,omitempty"`
	LandedOn    string  `json:"landedOn"`
	SigmaBefore float64 `json:"sigmaBefore"`
	SigmaAfter  float64 `json:"sigmaAfter"`
}

// Result is a whole simulation.
type Result struct {
	Decider      string        `json:"decider"`
	Cycles       []CycleResult `json:"cycles"`
	Evictions    int           `json:"evictions"`
	LowerBound   int           `json:"lowerBound"` // the planner's, on the dump's own readings (see lowerBound)
	InitialSigma float64       `json:"initialSigma"`
	FinalSigma   float64       `json:"finalSigma"`
	// Noise is the readings' noise the run had (Options.Noise).
	Noise float64 `json:"noise,omitempty"`
	// InitialTrueSigma and FinalTrueSigma are sigma of the pods' base usage before the first
	// cycle's evictions and after the last cycle's, without the readings' noise (see
	// CycleResult.TrueSigma).
	InitialTrueSigma float64 `json:"initialSigmaWithoutNoise"`
	FinalTrueSigma   float64 `json:"finalSigmaWithoutNoise"`
	ConvergedAt      int     `json:"convergedAt"` // first cycle after which nothing was evicted; -1 if never
	ToTarget         int     `json:"evictionsToTargetSigma"`
	AfterConverge    int     `json:"evictionsInStationaryCycles"`
	Doubles          int     `json:"doubleEvictionsWithinBackoff"`
	OnCold           int     `json:"replacementsOnColdNodes"`
	OnHot            int     `json:"replacementsOnHotNodes"`
	// AsPredicted counts replacements that landed on a node of the set the planner predicted
	// (Move.Possible); Predicted the replacements of moves that had a prediction.
	AsPredicted int `json:"replacementsAsPredicted"`
	Predicted   int `json:"replacementsPredicted"`
	Placed      int `json:"replacementsPlaced"`
	Unplaced    int `json:"replacementsUnplaced"`
	// Moves lists every eviction.
	Moves []SimMove `json:"moves"`
	// Converged is true when the last cycle had nothing left to do: no hot node, or no
	// candidate at all. A run that ends held back by a limit has not converged.
	Converged bool `json:"converged"`
	// Remaining is the planner's lower bound on the evictions still needed after the last cycle,
	// and MaxPerHour the policy's hourly limit, to say how long the limits need to finish.
	Remaining  int `json:"remainingLowerBound"`
	MaxPerHour int `json:"maxEvictionsPerHour,omitempty"`
	// ScoringEveryNode are the run's schedulers that score every node of the cluster
	// (placement.Engine.ScoringEveryNode): the replacements of pods on them land where the
	// planner confirmed, unless top scores tie.
	ScoringEveryNode []string `json:"schedulersScoringEveryNode,omitempty"`
}

// EvictionsPerLB is evictions / lower bound (0 when the bound is 0).
func (r Result) EvictionsPerLB() float64 {
	if r.LowerBound == 0 {
		return 0
	}
	return float64(r.Evictions) / float64(r.LowerBound)
}

// EvictionsTo is how many evictions it took for sigma to first reach target: at the start of a
// cycle or after one of its evictions; -1 if it never did.
func (r Result) EvictionsTo(target float64) int {
	for _, c := range r.Cycles {
		before := c.Total - c.Evictions
		if c.Sigma <= target {
			return before
		}
		for i, s := range c.AfterEach {
			if s <= target {
				return before + i + 1
			}
		}
	}
	return -1
}

// ColdShare is the share of replacements that landed on cold nodes.
func (r Result) ColdShare() float64 {
	if r.Placed == 0 {
		return 0
	}
	return float64(r.OnCold) / float64(r.Placed)
}

type simPod struct {
	pod     *corev1.Pod
	view    *planner.Pod      // the planner's view of pod
	base    scoring.Resources // reference units
	lineage int
}

// Simulate runs the decider for opts.Cycles cycles on the dump. Each cycle the readings are
// recomputed from each pod's base usage (with noise), the decider chooses evictions, and every
// evicted pod's replacement is placed by the scheduler it names, run by the placement engine
// (the real scheduler framework, ties and sampling drawn at random as kube-scheduler draws them).
// The dump is not changed.
func Simulate(d *Dump, dec Decider, opts Options, start time.Time) (Result, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Placement == nil {
		return Result{}, fmt.Errorf("simulating needs a placement engine")
	}
	sim := newSimulation(d, dec, opts, start)
	for cycle := 1; cycle <= opts.Cycles; cycle++ {
		if err := sim.cycle(cycle); err != nil {
			return sim.res, fmt.Errorf("cycle %d: %w", cycle, err)
		}
	}
	sim.summarise()
	return sim.res, nil
}

// simulation is the state of one Simulate run: the cluster as the simulator models it (each
// node's capacity, NodeClass thresholds and usage beyond its pods; each pod's base usage), the
// simulator's own classification of the nodes, and the result so far.
type simulation struct {
	d    *Dump
	dec  Decider
	opts Options
	rng  *rand.Rand
	// run makes the replacements' UIDs unique among the engine's runs (it caches pods by UID).
	run uint64

	factor     map[string]float64
	capacity   map[string]scoring.Resources
	hysteresis map[string]scoring.Hysteresis
	system     map[string]scoring.Resources // what a node uses beyond its pods, in reference units
	classOf    map[string]scoring.PlacementNode
	pods       []*simPod
	cp         *planner.Compactor

	classes     map[string]scoring.NodeState // the simulator's own classification of each node
	evictedFrom map[planner.PodRef]string
	lastSnap    planner.Snapshot  // the last cycle's, for what is left to do
	lastEvicted map[int]time.Time // by pod lineage
	replacement int
	now         time.Time
	res         Result

	// This cycle's readings: each node's usage and score in reference units, and their spread.
	nodeRef   map[string]scoring.Resources
	nodeScore map[string]float64
	spread    *scoring.Spread
}

func newSimulation(d *Dump, dec Decider, opts Options, start time.Time) *simulation {
	sim := &simulation{d: d, dec: dec, opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xa5a5a5a5)), run: opts.Placement.NewRun(),
		factor: map[string]float64{}, capacity: map[string]scoring.Resources{}, hysteresis: map[string]scoring.Hysteresis{},
		system: map[string]scoring.Resources{}, classOf: placementClasses(d), cp: planner.NewCompactor(),
		classes: map[string]scoring.NodeState{}, evictedFrom: map[planner.PodRef]string{}, lastEvicted: map[int]time.Time{}, now: start,
		res: Result{Decider: dec.Name(), Noise: opts.Noise, ConvergedAt: -1, ToTarget: -1, ScoringEveryNode: opts.Placement.ScoringEveryNode(len(d.Nodes))}}
	nodeClasses := scoring.ResolveNodeClasses(d.NodeClasses)
	// Each node is classified with its NodeClass's thresholds, as the evictor and the plugin do.
	judge := scoring.Judgement{Weights: opts.Weights, Hysteresis: opts.Hysteresis}
	for _, n := range d.Nodes {
		f := 1.0
		c := scoring.ClassFor(labels.Set(n.Labels), nodeClasses)
		if c != nil {
			f = c.CapacityFactor
		}
		sim.hysteresis[n.Name] = judge.For(c)
		sim.factor[n.Name] = f
		a, _ := scoring.NodeAllocatable(n)
		sim.capacity[n.Name] = scoring.Capacity(scoring.Resources{CPU: float64(a.MilliCPU), Memory: float64(a.Memory)}, f)
	}
	// Pods and their usage in reference units; what a node uses beyond its pods stays put.
	podUse := map[string]scoring.Resources{}
	for i, p := range d.Pods {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		view := sim.cp.Pod(p)
		s, ok := d.Usage.Pods[view.Key()]
		var u scoring.Resources
		if ok {
			u = scoring.ToReference(scoring.Resources{CPU: s.MilliCPU, Memory: s.Memory}, sim.factor[p.Spec.NodeName])
		} else {
			u = scoring.ToReference(scoring.Resources{CPU: float64(view.Requests.MilliCPU), Memory: float64(view.Requests.Memory)}, sim.factor[p.Spec.NodeName])
		}
		sim.pods = append(sim.pods, &simPod{pod: p.DeepCopy(), view: view, base: u, lineage: i})
		podUse[p.Spec.NodeName] = podUse[p.Spec.NodeName].Add(u)
	}
	for _, n := range d.Nodes {
		s := d.Usage.Nodes[n.Name]
		node := scoring.ToReference(scoring.Resources{CPU: s.MilliCPU, Memory: s.Memory}, sim.factor[n.Name])
		rest := node.Sub(podUse[n.Name])
		sim.system[n.Name] = scoring.Resources{CPU: math.Max(rest.CPU, 0), Memory: math.Max(rest.Memory, 0)}
	}
	if pd, ok := dec.(*PlannerDecider); ok {
		sim.res.LowerBound = lowerBound(d, pd, start)
	}
	return sim
}

// cycle takes this cycle's readings, lets the decider choose, and evicts and places.
func (sim *simulation) cycle(cycle int) error {
	trueSigma := sim.trueSigma()
	usage, hot, cold := sim.readings()
	sigma := sim.spread.Sigma()
	if cycle == 1 {
		sim.res.InitialSigma, sim.res.InitialTrueSigma = sigma, trueSigma
	}
	snap := sim.d.Snapshot()
	snap.Pods = make([]*planner.Pod, len(sim.pods))
	apiPods := make([]*corev1.Pod, len(sim.pods))
	for i, sp := range sim.pods {
		snap.Pods[i], apiPods[i] = sp.view, sp.pod
	}
	snap.Usage = usage
	snap.Placement = sim.opts.Placement
	sim.lastSnap = snap
	evict, err := sim.dec.Decide(snap, apiPods, sim.now)
	if err != nil {
		return err
	}
	hotSet, coldSet := classified(sim.dec)
	table := simTable(sim.d, sim.capacity, sim.nodeRef, sim.classOf, hotSet, coldSet, usage, sim.factor, sim.pods, sim.opts.Weights)
	// The scheduler that follows steers reads them from the ledger the evictor writes.
	table.Steers, table.Now = steersOf(sim.dec, sim.now), sim.now
	sess, err := sim.opts.Placement.Open(sim.d.Nodes, placement.APIPods(apiPods), table)
	if err != nil {
		return err
	}
	defer sess.Close()
	predicted, planned := predictedSets(sim.dec), plannedMoves(sim.dec)
	var afterEach []float64
	evicted := 0
	for _, ref := range evict {
		before := sim.spread.Sigma()
		landed, ok, err := sim.evict(sess, table, ref, predicted[ref])
		if err != nil {
			return err
		}
		if ok {
			evicted++
			afterEach = append(afterEach, sim.spread.Sigma())
			m := planned[ref]
			sim.res.Moves = append(sim.res.Moves, SimMove{Cycle: cycle, Pod: ref.String(), Workload: m.Workload.String(), From: sim.fromOf(ref, m),
				PredictedTo: m.To, LandedOn: landed, SigmaBefore: before, SigmaAfter: sim.spread.Sigma()})
		}
	}
	sim.res.Evictions += evicted
	sim.res.Cycles = append(sim.res.Cycles, CycleResult{Cycle: cycle, Sigma: sigma, TrueSigma: trueSigma, Hot: hot, Cold: cold, Evictions: evicted, Total: sim.res.Evictions,
		AfterEach: afterEach, Stopped: stopReason(sim.dec)})
	if sim.opts.StationaryCycles > 0 && cycle > sim.opts.Cycles-sim.opts.StationaryCycles {
		sim.res.AfterConverge += evicted
	}
	sim.now = sim.now.Add(sim.opts.Interval)
	return nil
}

// trueSigma is sigma of the node scores that the pods' base usage gives, without noise.
func (sim *simulation) trueSigma() float64 {
	ref := sim.nodeUsage(func(sp *simPod) scoring.Resources { return sp.base })
	scores := make([]float64, 0, len(sim.d.Nodes))
	for _, n := range sim.d.Nodes {
		scores = append(scores, sim.opts.Weights.NodeScore(ref[n.Name], sim.capacity[n.Name]))
	}
	spread := scoring.NewSpread(scores)
	return spread.Sigma()
}

// nodeUsage is each node's usage outside pods plus the usage of its pods, as usageOf gives it.
func (sim *simulation) nodeUsage(usageOf func(*simPod) scoring.Resources) map[string]scoring.Resources {
	ref := make(map[string]scoring.Resources, len(sim.system))
	for n, s := range sim.system {
		ref[n] = s
	}
	for _, sp := range sim.pods {
		ref[sp.pod.Spec.NodeName] = ref[sp.pod.Spec.NodeName].Add(usageOf(sp))
	}
	return ref
}

// readings computes this cycle's readings from each pod's base usage (with noise), classifies
// the nodes and returns the readings with the counts of hot and cold nodes.
func (sim *simulation) readings() (planner.Usage, int, int) {
	usage := planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}
	sim.nodeRef = sim.nodeUsage(func(sp *simPod) scoring.Resources {
		u := sp.base
		if sim.opts.Noise > 0 {
			k := math.Max(0, 1+sim.opts.Noise*sim.rng.NormFloat64())
			u = scoring.Resources{CPU: u.CPU * k, Memory: u.Memory * k}
		}
		usage.Pods[types.NamespacedName{Namespace: sp.pod.Namespace, Name: sp.pod.Name}] = planner.Sample{MilliCPU: u.CPU / sim.factor[sp.pod.Spec.NodeName], Memory: u.Memory, Time: sim.now}
		return u
	})
	scores := make([]float64, 0, len(sim.d.Nodes))
	sim.nodeScore = make(map[string]float64, len(sim.d.Nodes))
	hot, cold := 0, 0
	w := sim.opts.Weights
	for _, n := range sim.d.Nodes {
		r := sim.nodeRef[n.Name]
		usage.Nodes[n.Name] = planner.Sample{MilliCPU: r.CPU / sim.factor[n.Name], Memory: r.Memory, Time: sim.now}
		sc := w.NodeScore(r, sim.capacity[n.Name])
		scores = append(scores, sc)
		sim.nodeScore[n.Name] = sc
		sim.classes[n.Name] = sim.hysteresis[n.Name].Classify(sim.classes[n.Name], w.Pressure(r, sim.capacity[n.Name]), sc)
		switch sim.classes[n.Name].Class {
		case scoring.Hot:
			hot++
		case scoring.Cold:
			cold++
		}
	}
	spread := scoring.NewSpread(scores)
	sim.spread = &spread
	return usage, hot, cold
}

// evict evicts the pod, places its replacement where the engine's draw puts it and updates the
// readings' model; false when the pod is no longer there.
func (sim *simulation) evict(sess *placement.Session, table *placement.Table, ref planner.PodRef, predicted []string) (string, bool, error) {
	i := indexOf(sim.pods, ref)
	if i < 0 {
		return "", false, nil
	}
	sp, res, now := sim.pods[i], &sim.res, sim.now
	from := sp.pod.Spec.NodeName
	sim.evictedFrom[ref] = from
	if t, ok := sim.lastEvicted[sp.lineage]; ok && now.Sub(t) < sim.opts.Backoff {
		res.Doubles++
	}
	sim.lastEvicted[sp.lineage] = now
	sim.dec.Evicted(sp.pod, from, now)
	sim.replacement++
	np := sp.pod.DeepCopy()
	np.Name = fmt.Sprintf("%s-r%d", trimReplica(sp.pod.Name), sim.replacement)
	np.UID = types.UID(fmt.Sprintf("sim-%d-%d", sim.run, sim.replacement))
	np.Spec.NodeName = ""
	np.Status = corev1.PodStatus{Phase: corev1.PodPending}
	// The replacement is scheduled while the old pod is terminating (its requests still held).
	restore, err := sess.Evicting(context.Background(), sp.pod, now)
	if err != nil {
		return "", false, err
	}
	pred, err := sess.Predict(context.Background(), np)
	if rerr := restore(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return "", false, fmt.Errorf("placing the replacement of %s: %w", ref, err)
	}
	dest := pred.Draw(sim.rng)
	useSteer(table.Steers, np, dest)
	sim.pods = append(sim.pods[:i], sim.pods[i+1:]...)
	if dest == "" {
		res.Unplaced++
		return "", true, sess.Move(context.Background(), sp.pod, nil, "")
	}
	if err := sess.Move(context.Background(), sp.pod, np, dest); err != nil {
		return "", false, err
	}
	res.Placed++
	switch sim.classes[dest].Class {
	case scoring.Cold:
		res.OnCold++
	case scoring.Hot:
		res.OnHot++
	}
	if predicted != nil {
		res.Predicted++
		if slices.Contains(predicted, dest) {
			res.AsPredicted++
		}
	}
	np.Spec.NodeName = dest
	np.Status.Phase = corev1.PodRunning
	t := metav1.NewTime(now)
	np.CreationTimestamp, np.Status.StartTime = t, &t
	np.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t}}
	sim.pods = append(sim.pods, &simPod{pod: np, view: sim.cp.Pod(np), base: sp.base, lineage: sp.lineage})
	sim.nodeRef[from] = sim.nodeRef[from].Sub(sp.base)
	sim.nodeRef[dest] = sim.nodeRef[dest].Add(sp.base)
	// The scheduler's plugin sees the replacement at its requests until the next reading.
	if n := table.Nodes[dest]; n != nil {
		n.Usage = n.Usage.Add(placement.LagUsage(sp.view.Requests, sim.factor[dest]))
	}
	if from != dest {
		w := sim.opts.Weights
		fromNew, destNew := w.NodeScore(sim.nodeRef[from], sim.capacity[from]), w.NodeScore(sim.nodeRef[dest], sim.capacity[dest])
		sim.spread.Apply(sim.nodeScore[from], fromNew, sim.nodeScore[dest], destNew)
		sim.nodeScore[from], sim.nodeScore[dest] = fromNew, destNew
	}
	return dest, true, nil
}

// fromOf is the node the pod was evicted from.
func (sim *simulation) fromOf(ref planner.PodRef, m planner.Move) string {
	if m.From != "" {
		return m.From
	}
	return sim.evictedFrom[ref]
}

// summarise sets the figures over all cycles: final sigma, evictions to the target, and the
// cycle from which nothing more was evicted.
func (sim *simulation) summarise() {
	res := &sim.res
	if pd, ok := sim.dec.(*PlannerDecider); ok {
		last := res.Cycles[len(res.Cycles)-1]
		res.Converged = last.Evictions == 0 && (last.Stopped == StopNothingHot || last.Stopped == StopNoCandidate)
		res.Remaining = remaining(sim.lastSnap, pd, sim.now)
		if cfg, err := planner.Resolve(pd.Policy, nil); err == nil {
			res.MaxPerHour = cfg.MaxPerHour
		}
	}
	res.FinalSigma = res.Cycles[len(res.Cycles)-1].Sigma
	res.FinalTrueSigma = sim.trueSigma()
	if sim.opts.TargetSigma > 0 {
		res.ToTarget = res.EvictionsTo(sim.opts.TargetSigma)
	}
	for i := len(res.Cycles) - 1; i >= 0; i-- {
		if res.Cycles[i].Evictions > 0 {
			if i+1 < len(res.Cycles) {
				res.ConvergedAt = res.Cycles[i+1].Cycle
			}
			break
		}
		if i == 0 {
			res.ConvergedAt = 1
		}
	}
}

// lowerBound is the planner's lower bound on the dump's own readings, without noise, with every
// node classified on them at once (one reading suffices): the evictions needed to bring the nodes
// that really are hot under hot - margin. Taken on the first noisy cycle instead, it would miss
// nodes just over the threshold that noise keeps from three hot readings in a row, and count
// nodes that noise alone pushed over.
func lowerBound(d *Dump, pd *PlannerDecider, now time.Time) int {
	return planner.Plan(d.Snapshot(), steadyState(pd.Policy), pd.SLOs, planner.State{}, now).LowerBound
}

// classified are the nodes the decider calls hot and cold, as the evictor publishes them for the
// scheduler's placement score.
func classified(dec Decider) (hot, cold map[string]bool) {
	hot, cold = map[string]bool{}, map[string]bool{}
	if pd, ok := dec.(*PlannerDecider); ok {
		for _, n := range pd.Last.Nodes {
			switch n.State.Class {
			case scoring.Hot:
				hot[n.Name] = true
			case scoring.Cold:
				cold[n.Name] = true
			}
		}
	}
	return hot, cold
}

func indexOf(pods []*simPod, ref planner.PodRef) int {
	for i, sp := range pods {
		if sp.pod.Namespace == ref.Namespace && sp.pod.Name == ref.Name {
			return i
		}
	}
	return -1
}

func trimReplica(name string) string {
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '-' && i+1 < len(name) && name[i+1] == 'r' {
			return name[:i]
		}
	}
	return name
}

// placementClasses are each node's NodeClass weight and preferred profiles, as placement nodes.
func placementClasses(d *Dump) map[string]scoring.PlacementNode {
	classes := scoring.ResolveNodeClasses(d.NodeClasses)
	out := make(map[string]scoring.PlacementNode, len(d.Nodes))
	for _, n := range d.Nodes {
		pn := scoring.PlacementNode{ClassWeight: scoring.NoClassWeight}
		if c := scoring.ClassFor(labels.Set(n.Labels), classes); c != nil {
			pn.ClassWeight, pn.Profiles = float64(c.Weight)/100, c.Profiles
		}
		out[n.Name] = pn
	}
	return out
}

// simTable is RebalancerNodeClassFit's input on the simulated cluster: every node with its
// reading, the decider's classification (the evictor's status), and each controller's mean usage.
func simTable(d *Dump, capacity, nodeRef map[string]scoring.Resources, classOf map[string]scoring.PlacementNode,
	hot, cold map[string]bool, usage planner.Usage, factor map[string]float64, pods []*simPod, w scoring.Weights) *placement.Table {
	t := &placement.Table{Nodes: make(map[string]*scoring.PlacementNode, len(d.Nodes)), Weights: w}
	for _, n := range d.Nodes {
		pn := classOf[n.Name]
		pn.Capacity, pn.Usage, pn.Hot, pn.Cold = capacity[n.Name], nodeRef[n.Name], hot[n.Name], cold[n.Name]
		t.Nodes[n.Name] = &pn
	}
	var owners placement.OwnerUsage
	for _, sp := range pods {
		ref := metav1.GetControllerOfNoCopy(sp.pod)
		smp, ok := usage.Pods[types.NamespacedName{Namespace: sp.pod.Namespace, Name: sp.pod.Name}]
		if ref == nil || !ok {
			continue
		}
		owners.Add(ref.UID, smp.MilliCPU, smp.Memory, factor[sp.pod.Spec.NodeName])
	}
	t.Owners = owners.Means()
	return t
}

// steersOf returns the steers of the last plan's moves, read as the scheduler's plugin reads
// them (placement.Steers) from the entries the evictor writes (planner.Move.Disruption).
func steersOf(dec Decider, now time.Time) map[placement.SteerKey][]placement.Steer {
	pd, ok := dec.(*PlannerDecider)
	if !ok {
		return nil
	}
	entries := make([]v1alpha1.Disruption, 0, len(pd.Last.Moves))
	for _, m := range pd.Last.Moves {
		entries = append(entries, m.Disruption(now, pd.Interval()))
	}
	return placement.Steers(entries, now)
}

// useSteer removes the steer the replacement used, as the scheduler's plugin does: the one for
// the node it landed on, else the workload's first.
func useSteer(steers map[placement.SteerKey][]placement.Steer, pod *corev1.Pod, dest string) {
	k, ok := placement.SteerKeyOf(pod)
	if !ok || len(steers[k]) == 0 {
		return
	}
	l := steers[k]
	i := slices.IndexFunc(l, func(s placement.Steer) bool { return s.Node == dest })
	if i < 0 {
		i = 0
	}
	steers[k] = slices.Delete(slices.Clone(l), i, i+1)
}

// remaining is the planner's lower bound on the evictions still needed on the last cycle's
// readings, without the limits that held moves back (rate limits, spent budgets, backoffs): how
// much work the limits leave for later.
func remaining(snap planner.Snapshot, pd *PlannerDecider, now time.Time) int {
	p := steadyState(pd.Policy)
	p.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1 << 20), MaxEvictionsPerNodePerCycle: ptr.To[int32](1 << 20), MaxEvictionsPerHour: ptr.To[int32](1 << 20)}
	p.Spec.NamespaceBudgets = nil
	p.Status.Ledger = nil
	snap.Placement = nil // the bound needs no destination
	return planner.Plan(snap, p, nil, planner.State{}, now).LowerBound
}

// plannedMoves are the last plan's moves by pod.
func plannedMoves(dec Decider) map[planner.PodRef]planner.Move {
	out := map[planner.PodRef]planner.Move{}
	if pd, ok := dec.(*PlannerDecider); ok {
		for _, m := range pd.Last.Moves {
			out[m.Pod] = m
		}
	}
	return out
}

// Why a cycle evicted no more (CycleResult.Stopped): the planner's own (planner.Result.Stopped).
const (
	StopNothingHot           = planner.StopNothingHot
	StopNoCandidate          = planner.StopNoCandidate
	StopNoColdDestination    = planner.StopNoColdDestination
	StopCycleLimit           = planner.StopCycleLimit
	StopHourlyLimit          = planner.StopHourlyLimit
	StopBudget               = planner.StopBudget
	StopBackoff              = planner.StopBackoff
	StopConfirmationLimit    = planner.StopConfirmationLimit
	StopUncertainDestination = planner.StopUncertainDestination
)

// stopReason says why the planner's last cycle evicted no more (planner.Result.Stopped); "" for
// other deciders.
func stopReason(dec Decider) string {
	pd, ok := dec.(*PlannerDecider)
	if !ok {
		return ""
	}
	stop, _ := pd.Last.Stopped()
	return stop
}

// predictedSets are the nodes the planner predicted for each confirmed move of its last plan.
func predictedSets(dec Decider) map[planner.PodRef][]string {
	out := map[planner.PodRef][]string{}
	if pd, ok := dec.(*PlannerDecider); ok {
		for _, m := range pd.Last.Moves {
			if m.Confirmed {
				out[m.Pod] = m.Possible
			}
		}
	}
	return out
}
