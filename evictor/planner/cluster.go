package planner

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// classInfo is a NodeClass resolved for scoring.
type classInfo struct {
	name      string
	selector  labels.Selector
	weight    int32
	created   time.Time
	factor    float64
	profiles  scoring.ProfileSet
	hot, cold float64
}

// nodeInfo is a node in the plan, with its predicted state as moves are chosen.
type nodeInfo struct {
	node      *corev1.Node
	name      string
	class     *classInfo
	inScope   bool
	factor    float64
	place     scoring.PlacementNode // Capacity and Usage in reference units, updated by moves
	alloc     scoring.Requests
	load      scoring.NodeLoad // requests of every pod on the node, updated by moves
	hot, cold float64          // thresholds that apply
	// cool is where a hot node stops being hot: hot - the hysteresis margin. Moves bring the
	// pressure of hot nodes under it and never push a destination's over it, so a node the plan
	// clears or fills does not turn hot again on the next noisy reading.
	cool      float64
	state     scoring.NodeState
	score     float64 // weighted score from the reading: what sigma spreads and cold is decided on
	predicted float64 // score after the moves chosen so far
	// pressure is the busiest weighted resource's utilisation from the reading (hot is decided
	// on it), predictedP the same after the moves chosen so far.
	pressure, predictedP float64
	evicted              int
	sample               Sample
	pods                 []*Pod
	ready                bool  // the node's Ready condition is True
	ix                   int32 // index in cluster.nodes
}

// hotAt reports whether a busiest-resource pressure p is within the hysteresis margin of n's hot
// threshold (at or above cool): a hot node is worked on until its pressure is under it, and a
// move never pushes a destination to it.
func (n *nodeInfo) hotAt(p float64) bool { return p >= n.cool }

// fits reports whether pod p could run on n by the planner's own feasibility check: n is Ready,
// and p's scoring.Constraints (cordon, taints, node selector, required affinity, resources) hold.
func (n *nodeInfo) fits(p *Pod) bool {
	return n.ready && p.Constraints.FeasibleReady(n.node, n.load, p.Requests) == ""
}

// cluster is the snapshot indexed for planning.
type cluster struct {
	nodes    []*nodeInfo // every node, sorted by name
	byName   map[string]*nodeInfo
	scope    []*nodeInfo // nodes with fresh readings the policy balances
	excluded []ExcludedNode
	selected int // nodes the policy selects, fresh or not
	// replicas counts active pods per shape (replicasPerShape), in the same pass over the pods.
	replicas *shapeMap[int]
}

func resolveClasses(ncs []*v1alpha1.NodeClass, cfg *Config) []*classInfo {
	shared := scoring.ResolveNodeClasses(ncs)
	out := make([]*classInfo, len(shared))
	for i, c := range shared {
		h := cfg.Hysteresis.WithThresholds(c.Thresholds)
		out[i] = &classInfo{name: c.Name, selector: c.Selector, weight: c.Weight, created: c.Created,
			factor: c.CapacityFactor, profiles: c.Profiles, hot: h.Hot, cold: h.Cold}
	}
	return out
}

// ClassOf returns the NodeClass a node belongs to, by the same rule the planner uses: of the
// classes whose selector matches, the highest weight, then the oldest, then the first by name.
// It returns "" for a node of no class.
func ClassOf(node *corev1.Node, ncs []*v1alpha1.NodeClass) string {
	cfg := Config{}
	for _, ci := range resolveClasses(ncs, &cfg) {
		if ci.selector.Matches(labels.Set(node.Labels)) {
			return ci.name
		}
	}
	return ""
}

func buildCluster(s *Snapshot, cfg *Config, st State, now time.Time) *cluster {
	classes := resolveClasses(s.NodeClasses, cfg)
	cl := &cluster{byName: make(map[string]*nodeInfo, len(s.Nodes))}
	for _, n := range s.Nodes {
		ni := &nodeInfo{node: n, name: n.Name, ready: scoring.NodeReady(n), factor: 1, hot: cfg.Hysteresis.Hot, cold: cfg.Hysteresis.Cold, place: scoring.PlacementNode{ClassWeight: 0.5}}
		lbls := labels.Set(n.Labels)
		for _, ci := range classes {
			if ci.selector.Matches(lbls) {
				ni.class, ni.factor, ni.hot, ni.cold = ci, ci.factor, ci.hot, ci.cold
				ni.place.ClassWeight = float64(ci.weight) / 100
				ni.place.Profiles = ci.profiles
				break
			}
		}
		alloc, maxPods := scoring.NodeAllocatable(n)
		ni.alloc = alloc
		ni.load.Allocatable, ni.load.MaxPods = alloc, maxPods
		ni.place.Capacity = scoring.Capacity(scoring.Resources{CPU: float64(alloc.MilliCPU), Memory: float64(alloc.Memory)}, ni.factor)
		ni.state = st.Nodes[n.Name]
		cl.nodes = append(cl.nodes, ni)
		cl.byName[n.Name] = ni
	}
	sort.Slice(cl.nodes, func(i, j int) bool { return cl.nodes[i].name < cl.nodes[j].name })

	// Each node's pods, in one array: a first pass counts them (and notes each pod's node), a
	// second lays them out, rather than growing a slice per node.
	for i, ni := range cl.nodes {
		ni.ix = int32(i)
	}
	cl.replicas = &shapeMap[int]{}
	at := make([]int32, len(s.Pods)) // the pod's node's index + 1; 0 for none
	placed := 0
	for i, p := range s.Pods {
		countReplica(cl.replicas, p)
		ni := cl.byName[p.NodeName]
		if ni == nil || !holdsResources(p) {
			continue
		}
		ni.load.Requested = ni.load.Requested.Add(p.Requests)
		ni.load.Pods++
		at[i] = ni.ix + 1
		placed++
	}
	all := make([]*Pod, placed)
	for _, ni := range cl.nodes {
		ni.pods, all = all[:0:ni.load.Pods], all[ni.load.Pods:]
	}
	for i, p := range s.Pods {
		if at[i] > 0 {
			ni := cl.nodes[at[i]-1]
			ni.pods = append(ni.pods, p)
		}
	}

	for _, ni := range cl.nodes {
		if why, ok := s.ExcludedNodes[ni.name]; ok {
			cl.excluded = append(cl.excluded, ExcludedNode{Name: ni.name, Code: ExcludedOtherPolicy, Reason: why})
			continue
		}
		if !cfg.NodeSelector.Matches(labels.Set(ni.node.Labels)) {
			continue
		}
		cl.selected++
		sample, ok := s.Usage.Nodes[ni.name]
		switch {
		case !ok:
			cl.excluded = append(cl.excluded, ExcludedNode{Name: ni.name, Code: ExcludedNoReading, Reason: "no usage reading"})
			continue
		case now.Sub(sample.Time) > cfg.StaleAfter:
			cl.excluded = append(cl.excluded, ExcludedNode{Name: ni.name, Code: ExcludedStaleReading,
				Reason: fmt.Sprintf("usage reading is %s old, staleAfter is %s", now.Sub(sample.Time).Round(time.Second), cfg.StaleAfter)})
			continue
		}
		ni.inScope = true
		ni.sample = sample
		usage := scoring.ToReference(scoring.Resources{CPU: sample.MilliCPU, Memory: sample.Memory}, ni.factor)
		// Pods started after the reading are not in it yet: count them at their requests.
		for _, p := range ni.pods {
			if p.started > sample.Time.UnixNano() {
				r := p.Requests
				usage = usage.Add(scoring.ToReference(scoring.Resources{CPU: float64(r.MilliCPU), Memory: float64(r.Memory)}, ni.factor))
			}
		}
		ni.place.Usage = usage
		ni.score = cfg.Weights.NodeScore(usage, ni.place.Capacity)
		ni.predicted = ni.score
		ni.pressure = cfg.Weights.Pressure(usage, ni.place.Capacity)
		ni.predictedP = ni.pressure
		cl.scope = append(cl.scope, ni)
	}
	return cl
}

// holdsResources: pods that finished hold no resources on their node.
func holdsResources(p *Pod) bool {
	return p.Phase != corev1.PodSucceeded && p.Phase != corev1.PodFailed
}

// podUsage is the pod's expected usage in reference units: its fresh reading, or its requests.
func podUsage(p *Pod, s *Snapshot, ni *nodeInfo, staleAfter time.Duration, now time.Time) scoring.Resources {
	if smp, ok := s.Usage.Pods[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; ok && now.Sub(smp.Time) <= staleAfter {
		return scoring.ToReference(scoring.Resources{CPU: smp.MilliCPU, Memory: smp.Memory}, ni.factor)
	}
	r := p.Requests
	return scoring.ToReference(scoring.Resources{CPU: float64(r.MilliCPU), Memory: float64(r.Memory)}, ni.factor)
}
