package nodeclassfit

import (
	"sort"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// timedEvery is how sparsely Score times itself: one node in timedEvery feeds the score
// duration histogram. Timing every call would add two clock reads and a contended histogram
// update to each of the thousands of Score calls of a cycle; kube-scheduler samples its own
// plugin timings the same way.
const timedEvery = 16

// snapshot is what PreScore and Score read. The collector builds a new one on every refresh and
// never changes a published one, except for each node's lag sums, which the lag tracker keeps
// current with atomic adds as pods are placed between two readings.
type snapshot struct {
	nodes map[string]*nodeEntry
	// owners is the mean usage, in reference units, of the pods of each controller (by UID) that
	// have a fresh reading: the best guess of what one more of its pods will use.
	owners           map[types.UID]scoring.Resources
	weights          scoring.Weights
	placementWeights scoring.PlacementWeights
	policy           policy
	// fromStatus is true when the classification is the evictor's, read from the policy's status.
	fromStatus bool
	builtAt    time.Time
}

// nodeEntry is one node in a snapshot.
type nodeEntry struct {
	name  string
	class string
	cls   *scoring.NodeClass // nil for no class
	// factor is the NodeClass's capacityFactor (1 for no class).
	factor   float64
	capacity scoring.Resources // allocatable in reference units
	// classWeight is the NodeClass weight as a fraction; profiles its preferred profiles.
	classWeight    float64
	profiles       scoring.ProfileSet
	classification scoring.Class
	// measured is true when the node has a reading no older than the policy's staleAfter;
	// usage is then that reading in reference units, taken at reading.
	measured bool
	reading  time.Time
	usage    scoring.Resources
	// inScope is true when the policy balances the node (its nodeSelector matches).
	inScope bool
	// timed is true for the nodes whose Score calls are timed (one in timedEvery).
	timed bool
	// lagMilliCPU and lagMemory are the requests (made non-zero, in the node's own units) of the
	// pods placed on the node that its reading does not cover yet. The lag tracker owns them.
	lagMilliCPU atomic.Int64
	lagMemory   atomic.Int64
}

// buildInput is everything a snapshot is built from, read from listers and the usage source.
type buildInput struct {
	now              time.Time
	nodes            []*corev1.Node
	classes          []*v1alpha1.NodeClass
	policy           *v1alpha1.RebalancePolicy // nil when the policy does not exist
	readings         usage.Readings
	pod              func(types.NamespacedName) *corev1.Pod // nil: no owner usage
	placementWeights scoring.PlacementWeights
}

// assemble builds a snapshot from in, hands it to the lag tracker and classifies its nodes. The
// snapshot is ready to publish.
func assemble(in *buildInput, cls *classifier, lag *lagTracker) *snapshot {
	s := newSnapshot(in)
	s.classify(cls, lag.adopt(s))
	return s
}

// newSnapshot builds the nodes, their classes, capacities and readings, and the owners' usage. It
// leaves every node normal: classify sets the classification once the lag is known.
func newSnapshot(in *buildInput) *snapshot {
	pol := parsePolicy(in.policy)
	classes := scoring.ResolveNodeClasses(in.classes)
	s := &snapshot{
		nodes:            make(map[string]*nodeEntry, len(in.nodes)),
		owners:           map[types.UID]scoring.Resources{},
		weights:          pol.Weights,
		placementWeights: in.placementWeights,
		policy:           pol,
		builtAt:          in.now,
	}
	for i, n := range in.nodes {
		e := &nodeEntry{name: n.Name, factor: 1, classWeight: scoring.NoClassWeight, timed: i%timedEvery == 0}
		lbls := labels.Set(n.Labels)
		if c := scoring.ClassFor(lbls, classes); c != nil {
			e.cls, e.class, e.factor, e.profiles = c, c.Name, c.CapacityFactor, c.Profiles
			e.classWeight = float64(c.Weight) / 100
		}
		alloc, _ := scoring.NodeAllocatable(n)
		e.capacity = scoring.Capacity(scoring.Resources{CPU: float64(alloc.MilliCPU), Memory: float64(alloc.Memory)}, e.factor)
		e.inScope = pol.valid && pol.NodeSelector.Matches(lbls)
		if smp, ok := in.readings.Nodes[n.Name]; ok && in.now.Sub(smp.Time) <= pol.StaleAfter {
			e.measured, e.reading = true, smp.Time
			e.usage = scoring.ToReference(scoring.Resources{CPU: smp.MilliCPU, Memory: smp.Memory}, e.factor)
		}
		s.nodes[n.Name] = e
	}
	if in.pod != nil {
		s.owners = ownerUsage(in, s, pol.StaleAfter)
	}
	return s
}

// ownerUsage is, per controller, the mean of its pods' fresh readings in reference units:
//
//	owner usage = sum(reading_i x capacityFactor(node_i)) / n   over the n pods with a fresh reading
func ownerUsage(in *buildInput, s *snapshot, staleAfter time.Duration) map[types.UID]scoring.Resources {
	var acc placement.OwnerUsage
	for key, smp := range in.readings.Pods {
		if in.now.Sub(smp.Time) > staleAfter {
			continue
		}
		p := in.pod(key)
		if p == nil || p.Spec.NodeName == "" {
			continue
		}
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil {
			continue
		}
		factor := 1.0
		if e := s.nodes[p.Spec.NodeName]; e != nil {
			factor = e.factor
		}
		acc.Add(ref.UID, smp.MilliCPU, smp.Memory, factor)
	}
	return acc.Means()
}

// classify sets every node's classification. While the evictor's status is fresh it is the
// evictor's: hot and cold are the nodes the status names. Otherwise the plugin classifies the
// nodes the policy balances itself, from the same inputs the evictor uses (the same readings,
// thresholds, NodeClass overrides, weights and hysteresis):
//
//	u        = reading + requests of pods started after it
//	score    = Weights.NodeScore(u, capacity),  pressure = Weights.Pressure(u, capacity)
//	class    = Hysteresis.Classify(previous state, pressure, score)   once per new reading
//
// The classifier advances on every new reading even while the status is followed, so that the
// fallback starts from the node's history. started holds, per node, the requests of the pods that
// started after the node's reading (in the node's units).
func (s *snapshot) classify(cls *classifier, started map[string]scoring.Requests) {
	s.fromStatus = s.policy.statusFresh(s.builtAt)
	for name, e := range s.nodes {
		e.classification = scoring.Normal
		if e.measured && e.inScope {
			r := started[name]
			u := e.usage.Add(scoring.ToReference(scoring.Resources{CPU: float64(r.MilliCPU), Memory: float64(r.Memory)}, e.factor))
			h := s.policy.For(e.cls)
			e.classification = cls.observe(name, e.reading, s.weights.Pressure(u, e.capacity), s.weights.NodeScore(u, e.capacity), h)
		}
		if s.fromStatus {
			switch {
			case s.policy.hot.Has(name):
				e.classification = scoring.Hot
			case s.policy.cold.Has(name):
				e.classification = scoring.Cold
			default:
				e.classification = scoring.Normal
			}
		}
	}
	cls.forgetAllBut(s.nodes)
}

// placementNode is what the placement score needs to know about the node in ni. A node with a
// fresh reading counts that reading plus the pods placed since; a node without one (or one the
// snapshot does not know yet) counts the requests the scheduler has on it, made non-zero as
// kube-scheduler's own scoring does. timed says whether to time this Score call. It allocates
// nothing.
func (s *snapshot) placementNode(ni fwk.NodeInfo) (pn scoring.PlacementNode, timed bool) {
	e := s.nodes[ni.Node().Name]
	if e == nil {
		return placement.NoReading(ni), false
	}
	pn = scoring.PlacementNode{
		Capacity:    e.capacity,
		ClassWeight: e.classWeight,
		Profiles:    e.profiles,
		Hot:         e.classification == scoring.Hot,
		Cold:        e.classification == scoring.Cold,
	}
	if e.measured {
		lag := scoring.Resources{CPU: float64(e.lagMilliCPU.Load()), Memory: float64(e.lagMemory.Load())}
		pn.Usage = e.usage.Add(scoring.ToReference(lag, e.factor))
	} else {
		r := ni.GetNonZeroRequested()
		pn.Usage = scoring.ToReference(scoring.Resources{CPU: float64(r.GetMilliCPU()), Memory: float64(r.GetMemory())}, e.factor)
	}
	return pn, e.timed
}

// summary describes the snapshot for logs and hooks.
func (s *snapshot) summary() Summary {
	out := Summary{Nodes: len(s.nodes), PolicyFound: s.policy.found, HotFromStatus: s.fromStatus}
	for name, e := range s.nodes {
		if e.measured {
			out.Measured++
		}
		switch e.classification {
		case scoring.Hot:
			out.Hot = append(out.Hot, name)
		case scoring.Cold:
			out.Cold = append(out.Cold, name)
		}
	}
	sort.Strings(out.Hot)
	sort.Strings(out.Cold)
	return out
}

// Summary describes a snapshot the collector published.
type Summary struct {
	// Nodes is how many nodes the snapshot knows; Measured how many have a fresh usage reading.
	Nodes, Measured int
	// PolicyFound is false when the RebalancePolicy the plugin follows does not exist.
	PolicyFound bool
	// HotFromStatus is true when hot and cold come from the evictor's status, false when the
	// plugin classified the nodes itself.
	HotFromStatus bool
	// Hot and Cold name the nodes classified hot and cold, sorted.
	Hot, Cold []string
	// ReadError is the usage source's last error, nil when the last read succeeded.
	ReadError error
}

// classifier remembers each node's hysteresis state between readings.
type classifier struct {
	mem map[string]classMemory
}

type classMemory struct {
	state   scoring.NodeState
	reading time.Time
}

func newClassifier() *classifier { return &classifier{mem: map[string]classMemory{}} }

// observe advances the node's state with a reading taken at t, once per reading, and returns the
// node's class.
func (c *classifier) observe(node string, t time.Time, pressure, score float64, h scoring.Hysteresis) scoring.Class {
	m := c.mem[node]
	if t.After(m.reading) {
		m = classMemory{state: h.Classify(m.state, pressure, score), reading: t}
		c.mem[node] = m
	}
	return m.state.Class
}

func (c *classifier) forgetAllBut(nodes map[string]*nodeEntry) {
	for name := range c.mem {
		if _, ok := nodes[name]; !ok {
			delete(c.mem, name)
		}
	}
}
