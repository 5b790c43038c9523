package whatif

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
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
	wk := ""
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		wk = ref.Kind + "/" + ref.Name
	}
	d := v1alpha1.Disruption{Time: metav1.NewTime(now), Namespace: pod.Namespace, Pod: pod.Name, Node: from, Workload: wk}
	p.Policy.Status.Ledger = append(p.Policy.Status.Ledger, d)
	for _, slo := range p.SLOs {
		if slo.Namespace == pod.Namespace && selects(slo.Spec.Selector, pod.Labels) {
			slo.Status.Ledger = append(slo.Status.Ledger, d)
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
}

// CycleResult is one simulated cycle.
type CycleResult struct {
	Cycle     int     `json:"cycle"`
	Sigma     float64 `json:"sigma"`
	Hot       int     `json:"hot"`
	Cold      int     `json:"cold"`
	Evictions int     `json:"evictions"`
	Total     int     `json:"totalEvictions"`
	// AfterEach is sigma after each eviction of the cycle, on the cycle's readings with the
	// evicted pod's usage moved to where its replacement landed.
	AfterEach []float64 `json:"sigmaAfterEachEviction,omitempty"`
}

// Result is a whole simulation.
type Result struct {
	Decider       string        `json:"decider"`
	Cycles        []CycleResult `json:"cycles"`
	Evictions     int           `json:"evictions"`
	LowerBound    int           `json:"lowerBound"` // the planner's, on the dump's own readings (see lowerBound)
	InitialSigma  float64       `json:"initialSigma"`
	FinalSigma    float64       `json:"finalSigma"`
	ConvergedAt   int           `json:"convergedAt"` // first cycle after which nothing was evicted; -1 if never
	ToTarget      int           `json:"evictionsToTargetSigma"`
	AfterConverge int           `json:"evictionsInStationaryCycles"`
	Doubles       int           `json:"doubleEvictionsWithinBackoff"`
	OnCold        int           `json:"replacementsOnColdNodes"`
	Placed        int           `json:"replacementsPlaced"`
	Unplaced      int           `json:"replacementsUnplaced"`
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
// evicted pod's replacement is placed by the scheduler it names: the shared placement score for
// rebalancer-scheduler, the model of kube-scheduler's default scoring otherwise. The dump is not
// changed.
func Simulate(d *Dump, dec Decider, opts Options, start time.Time) (Result, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xa5a5a5a5))
	factor := map[string]float64{}
	capacity := map[string]scoring.Resources{}
	nodeClasses := scoring.ResolveNodeClasses(d.NodeClasses)
	for _, n := range d.Nodes {
		f := 1.0
		if c := scoring.ClassFor(labels.Set(n.Labels), nodeClasses); c != nil {
			f = c.CapacityFactor
		}
		factor[n.Name] = f
		a, _ := scoring.NodeAllocatable(n)
		capacity[n.Name] = scoring.Capacity(scoring.Resources{CPU: float64(a.MilliCPU), Memory: float64(a.Memory)}, f)
	}
	// Pods and their usage in reference units; what a node uses beyond its pods stays put.
	var pods []*simPod
	cp := planner.NewCompactor()
	podUse := map[string]scoring.Resources{}
	for i, p := range d.Pods {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		view := cp.Pod(p)
		s, ok := d.Usage.Pods[view.Key()]
		var u scoring.Resources
		if ok {
			u = scoring.ToReference(scoring.Resources{CPU: s.MilliCPU, Memory: s.Memory}, factor[p.Spec.NodeName])
		} else {
			u = scoring.ToReference(scoring.Resources{CPU: float64(view.Requests.MilliCPU), Memory: float64(view.Requests.Memory)}, factor[p.Spec.NodeName])
		}
		pods = append(pods, &simPod{pod: p.DeepCopy(), view: view, base: u, lineage: i})
		podUse[p.Spec.NodeName] = podUse[p.Spec.NodeName].Add(u)
	}
	system := map[string]scoring.Resources{}
	pl := newPlacer(d, capacity, opts.Weights)
	for _, n := range d.Nodes {
		s := d.Usage.Nodes[n.Name]
		node := scoring.ToReference(scoring.Resources{CPU: s.MilliCPU, Memory: s.Memory}, factor[n.Name])
		rest := node.Sub(podUse[n.Name])
		system[n.Name] = scoring.Resources{CPU: math.Max(rest.CPU, 0), Memory: math.Max(rest.Memory, 0)}
	}

	res := Result{Decider: dec.Name(), ConvergedAt: -1, ToTarget: -1}
	if pd, ok := dec.(*PlannerDecider); ok {
		res.LowerBound = lowerBound(d, pd, start)
	}
	lastEvicted := map[int]time.Time{}
	classes := map[string]scoring.NodeState{} // the simulator's own classification of each node
	now := start
	replacement := 0
	for cycle := 1; cycle <= opts.Cycles; cycle++ {
		// Readings for this cycle.
		usage := planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}
		nodeRef := map[string]scoring.Resources{}
		for n, s := range system {
			nodeRef[n] = s
		}
		for _, sp := range pods {
			u := sp.base
			if opts.Noise > 0 {
				k := math.Max(0, 1+opts.Noise*rng.NormFloat64())
				u = scoring.Resources{CPU: u.CPU * k, Memory: u.Memory * k}
			}
			node := sp.pod.Spec.NodeName
			nodeRef[node] = nodeRef[node].Add(u)
			f := factor[node]
			usage.Pods[types.NamespacedName{Namespace: sp.pod.Namespace, Name: sp.pod.Name}] = planner.Sample{MilliCPU: u.CPU / f, Memory: u.Memory, Time: now}
		}
		scores := make([]float64, 0, len(d.Nodes))
		nodeScore := make(map[string]float64, len(d.Nodes))
		hot, cold := 0, 0
		for _, n := range d.Nodes {
			r := nodeRef[n.Name]
			usage.Nodes[n.Name] = planner.Sample{MilliCPU: r.CPU / factor[n.Name], Memory: r.Memory, Time: now}
			sc := opts.Weights.NodeScore(r, capacity[n.Name])
			scores = append(scores, sc)
			nodeScore[n.Name] = sc
			classes[n.Name] = opts.Hysteresis.Classify(classes[n.Name], opts.Weights.Pressure(r, capacity[n.Name]), sc)
			switch classes[n.Name].Class {
			case scoring.Hot:
				hot++
			case scoring.Cold:
				cold++
			}
		}
		spread := scoring.NewSpread(scores)
		sigma := spread.Sigma()
		var afterEach []float64
		if cycle == 1 {
			res.InitialSigma = sigma
		}

		snap := d.Snapshot()
		snap.Pods = make([]*planner.Pod, len(pods))
		apiPods := make([]*corev1.Pod, len(pods))
		for i, sp := range pods {
			snap.Pods[i], apiPods[i] = sp.view, sp.pod
		}
		snap.Usage = usage
		evict, err := dec.Decide(snap, apiPods, now)
		if err != nil {
			return res, fmt.Errorf("cycle %d: %w", cycle, err)
		}
		hotSet, coldSet := classified(dec)
		pl.count(pods)
		evicted := 0
		for _, ref := range evict {
			i := indexOf(pods, ref)
			if i < 0 {
				continue
			}
			sp := pods[i]
			from := sp.pod.Spec.NodeName
			if t, ok := lastEvicted[sp.lineage]; ok && now.Sub(t) < opts.Backoff {
				res.Doubles++
			}
			lastEvicted[sp.lineage] = now
			dec.Evicted(sp.pod, from, now)
			// The replacement is scheduled while the old pod still holds its requests.
			dest := pl.place(sp, nodeRef, hotSet, coldSet)
			pods = append(pods[:i], pods[i+1:]...)
			pl.remove(from, sp.view.Requests)
			evicted++
			if dest == "" {
				res.Unplaced++
				afterEach = append(afterEach, spread.Sigma())
				continue
			}
			res.Placed++
			if classes[dest].Class == scoring.Cold {
				res.OnCold++
			}
			replacement++
			np := sp.pod.DeepCopy()
			np.Name = fmt.Sprintf("%s-r%d", trimReplica(sp.pod.Name), replacement)
			np.UID = types.UID(fmt.Sprintf("sim-%d", replacement))
			np.Spec.NodeName = dest
			t := metav1.NewTime(now)
			np.CreationTimestamp, np.Status.StartTime = t, &t
			np.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t}}
			pods = append(pods, &simPod{pod: np, view: cp.Pod(np), base: sp.base, lineage: sp.lineage})
			pl.add(dest, sp.view.Requests)
			nodeRef[from] = nodeRef[from].Sub(sp.base)
			nodeRef[dest] = nodeRef[dest].Add(sp.base)
			if from != dest {
				fromNew, destNew := opts.Weights.NodeScore(nodeRef[from], capacity[from]), opts.Weights.NodeScore(nodeRef[dest], capacity[dest])
				spread.Apply(nodeScore[from], fromNew, nodeScore[dest], destNew)
				nodeScore[from], nodeScore[dest] = fromNew, destNew
			}
			afterEach = append(afterEach, spread.Sigma())
		}
		res.Evictions += evicted
		res.Cycles = append(res.Cycles, CycleResult{Cycle: cycle, Sigma: sigma, Hot: hot, Cold: cold, Evictions: evicted, Total: res.Evictions, AfterEach: afterEach})
		if opts.StationaryCycles > 0 && cycle > opts.Cycles-opts.StationaryCycles {
			res.AfterConverge += evicted
		}
		now = now.Add(opts.Interval)
	}
	res.FinalSigma = res.Cycles[len(res.Cycles)-1].Sigma
	if opts.TargetSigma > 0 {
		res.ToTarget = res.EvictionsTo(opts.TargetSigma)
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
	return res, nil
}

// lowerBound is the planner's lower bound on the dump's own readings, without noise, with every
// node classified on them at once (one reading suffices): the evictions needed to bring the nodes
// that really are hot under hot - margin. Taken on the first noisy cycle instead, it would miss
// nodes just over the threshold that noise keeps from three hot readings in a row, and count
// nodes that noise alone pushed over.
func lowerBound(d *Dump, pd *PlannerDecider, now time.Time) int {
	p := pd.Policy.DeepCopy()
	h := v1alpha1.Hysteresis{}
	if p.Spec.Hysteresis != nil {
		h = *p.Spec.Hysteresis
	}
	h.ConsecutiveReadings = 1
	p.Spec.Hysteresis = &h
	return planner.Plan(d.Snapshot(), p, pd.SLOs, planner.State{}, now).LowerBound
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

// placer places replacements as their scheduler would, on the simulated cluster.
type placer struct {
	nodes    []*corev1.Node // sorted by name
	ready    map[string]bool
	alloc    map[string]scoring.Requests
	maxPods  map[string]int64
	class    map[string]scoring.PlacementNode // ClassWeight and Profiles of each node's NodeClass
	capacity map[string]scoring.Resources
	w        scoring.Weights
	// load is what is requested on each node, kept up to date as pods move.
	load map[string]scoring.NodeLoad
}

func newPlacer(d *Dump, capacity map[string]scoring.Resources, w scoring.Weights) *placer {
	pl := &placer{nodes: append([]*corev1.Node(nil), d.Nodes...), ready: map[string]bool{}, alloc: map[string]scoring.Requests{}, maxPods: map[string]int64{},
		class: map[string]scoring.PlacementNode{}, capacity: capacity, w: w}
	sort.Slice(pl.nodes, func(i, j int) bool { return pl.nodes[i].Name < pl.nodes[j].Name })
	classes := scoring.ResolveNodeClasses(d.NodeClasses)
	for _, n := range pl.nodes {
		pl.ready[n.Name] = scoring.NodeReady(n)
		pl.alloc[n.Name], pl.maxPods[n.Name] = scoring.NodeAllocatable(n)
		pn := scoring.PlacementNode{ClassWeight: 0.5}
		if c := scoring.ClassFor(labels.Set(n.Labels), classes); c != nil {
			pn.ClassWeight, pn.Profiles = float64(c.Weight)/100, c.Profiles
		}
		pl.class[n.Name] = pn
	}
	return pl
}

// count sets the load from the pods.
func (pl *placer) count(pods []*simPod) {
	pl.load = map[string]scoring.NodeLoad{}
	for _, o := range pods {
		pl.add(o.view.NodeName, o.view.Requests)
	}
}

func (pl *placer) add(node string, r scoring.Requests) {
	l := pl.load[node]
	l.Requested, l.Pods = l.Requested.Add(r), l.Pods+1
	pl.load[node] = l
}

func (pl *placer) remove(node string, r scoring.Requests) {
	l := pl.load[node]
	l.Requested, l.Pods = l.Requested.Sub(r), l.Pods-1
	pl.load[node] = l
}

// place returns the node the replacement of sp lands on ("" when none fits): feasible nodes
// only, ties by name. nodeRef is each node's usage in reference units.
func (pl *placer) place(sp *simPod, nodeRef map[string]scoring.Resources, hot, cold map[string]bool) string {
	p := sp.view
	best, bestScore := "", int64(-1)
	for _, n := range pl.nodes {
		load := pl.load[n.Name]
		load.Allocatable, load.MaxPods = pl.alloc[n.Name], pl.maxPods[n.Name]
		if !pl.ready[n.Name] || p.Constraints.FeasibleReady(n, load, p.Requests) != "" {
			continue
		}
		var s int64
		if p.SchedulerName == v1alpha1.SchedulerName {
			pn := pl.class[n.Name]
			pn.Capacity, pn.Usage, pn.Hot, pn.Cold = pl.capacity[n.Name], nodeRef[n.Name], hot[n.Name], cold[n.Name]
			s = scoring.PlacementScore(&pn, &scoring.PlacementPod{Usage: sp.base, Profile: p.Profile()}, pl.w, scoring.DefaultPlacementWeights)
		} else {
			s = scoring.DefaultSchedulerScore(load.Requested, p.Requests.NonZero(), pl.alloc[n.Name])
		}
		if s > bestScore {
			best, bestScore = n.Name, s
		}
	}
	return best
}
