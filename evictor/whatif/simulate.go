package whatif

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
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
	// Placement places every replacement with the real scheduler framework of the scheduler the
	// pod names, and confirms the planner's moves. Required.
	Placement *placement.Engine
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
	OnHot         int           `json:"replacementsOnHotNodes"`
	// AsPredicted counts replacements that landed on a node of the set the planner predicted
	// (Move.Possible); Predicted the replacements of moves that had a prediction.
	AsPredicted int `json:"replacementsAsPredicted"`
	Predicted   int `json:"replacementsPredicted"`
	Placed      int `json:"replacementsPlaced"`
	Unplaced    int `json:"replacementsUnplaced"`
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

// simulations counts Simulate calls, to make replacement UIDs unique.
var simulations atomic.Uint64

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
	simulations.Add(1)
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
	classOf := placementClasses(d)
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
		snap.Placement = opts.Placement
		evict, err := dec.Decide(snap, apiPods, now)
		if err != nil {
			return res, fmt.Errorf("cycle %d: %w", cycle, err)
		}
		hotSet, coldSet := classified(dec)
		predicted := predictedSets(dec)
		table := simTable(d, capacity, nodeRef, classOf, hotSet, coldSet, usage, factor, pods, opts.Weights)
		// The scheduler that follows steers reads them from the ledger the evictor writes.
		table.Steers, table.Now = steersOf(dec, now), now
		sess, err := opts.Placement.Open(d.Nodes, placement.APIPods(apiPods), table)
		if err != nil {
			return res, fmt.Errorf("cycle %d: %w", cycle, err)
		}
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
			replacement++
			np := sp.pod.DeepCopy()
			np.Name = fmt.Sprintf("%s-r%d", trimReplica(sp.pod.Name), replacement)
			// UIDs unique across simulations: the engine keeps its view of a pod by UID.
			np.UID = types.UID(fmt.Sprintf("sim-%d-%d", simulations.Load(), replacement))
			np.Spec.NodeName = ""
			np.Status = corev1.PodStatus{Phase: corev1.PodPending}
			// The replacement is scheduled while the old pod still holds its requests.
			pred, err := sess.Predict(context.Background(), np)
			if err != nil {
				sess.Close()
				return res, fmt.Errorf("cycle %d: placing the replacement of %s: %w", cycle, ref, err)
			}
			dest := pred.Draw(rng)
			useSteer(table.Steers, np, dest)
			pods = append(pods[:i], pods[i+1:]...)
			evicted++
			if dest == "" {
				if err := sess.Move(context.Background(), sp.pod, nil, ""); err != nil {
					sess.Close()
					return res, err
				}
				res.Unplaced++
				afterEach = append(afterEach, spread.Sigma())
				continue
			}
			if err := sess.Move(context.Background(), sp.pod, np, dest); err != nil {
				sess.Close()
				return res, err
			}
			res.Placed++
			switch classes[dest].Class {
			case scoring.Cold:
				res.OnCold++
			case scoring.Hot:
				res.OnHot++
			}
			if set, ok := predicted[ref]; ok {
				res.Predicted++
				if slices.Contains(set, dest) {
					res.AsPredicted++
				}
			}
			np.Spec.NodeName = dest
			np.Status.Phase = corev1.PodRunning
			t := metav1.NewTime(now)
			np.CreationTimestamp, np.Status.StartTime = t, &t
			np.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t}}
			pods = append(pods, &simPod{pod: np, view: cp.Pod(np), base: sp.base, lineage: sp.lineage})
			nodeRef[from] = nodeRef[from].Sub(sp.base)
			nodeRef[dest] = nodeRef[dest].Add(sp.base)
			// The scheduler's plugin sees the replacement at its requests until the next reading.
			if n := table.Nodes[dest]; n != nil {
				n.Usage = n.Usage.Add(placement.LagUsage(sp.view.Requests, factor[dest]))
			}
			if from != dest {
				fromNew, destNew := opts.Weights.NodeScore(nodeRef[from], capacity[from]), opts.Weights.NodeScore(nodeRef[dest], capacity[dest])
				spread.Apply(nodeScore[from], fromNew, nodeScore[dest], destNew)
				nodeScore[from], nodeScore[dest] = fromNew, destNew
			}
			afterEach = append(afterEach, spread.Sigma())
		}
		sess.Close()
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

// predictedSets are the nodes the planner predicted for each move of its last plan.
// steersOf returns the steers the evictor publishes for the last plan's moves (placement.Steers).
func steersOf(dec Decider, now time.Time) map[placement.SteerKey][]placement.Steer {
	pd, ok := dec.(*PlannerDecider)
	if !ok {
		return nil
	}
	var out map[placement.SteerKey][]placement.Steer
	for _, m := range pd.Last.Moves {
		if !m.Steered {
			continue
		}
		if out == nil {
			out = map[placement.SteerKey][]placement.Steer{}
		}
		k := placement.SteerKey{Namespace: m.Workload.Namespace, Kind: m.Workload.Kind, Name: m.Workload.Name}
		out[k] = append(out[k], placement.Steer{Node: m.To, Expires: now.Add(placement.SteerTTL(pd.Interval())), ID: m.Pod.String()})
	}
	return out
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
