package placement

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/tinorodney/rebalancer/apis/config"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// NodeClassFitName is the name of the Rebalancer's Score plugin in a KubeSchedulerConfiguration.
const NodeClassFitName = "RebalancerNodeClassFit"

// Table is what RebalancerNodeClassFit reads: each node as the placement score sees it, and what
// a controller's next pod is expected to use. The scheduler's plugin builds one from its
// collector; the planner builds one from its snapshot, so the two score with the same inputs.
type Table struct {
	// Nodes by name. A node missing here is scored on its requests (NoReading).
	Nodes map[string]*scoring.PlacementNode
	// Owners is the mean usage, in reference units, of the pods of each controller (by UID)
	// that have a fresh reading.
	Owners map[types.UID]scoring.Resources
	// Weights weigh CPU and memory into one utilisation.
	Weights scoring.Weights
	// Steers are the steers standing at Now (placement.Steers), as the scheduler's plugin reads
	// them from the policy's ledger; the simulator sets them, the planner predicts without.
	Steers map[SteerKey][]Steer
	Now    time.Time
}

// ExpectedUsage is what a pod is expected to use once placed, in reference units: the mean usage
// of its controller's pods when any has a fresh reading (an evicted pod's replacement uses what
// its siblings do), else its requests made non-zero as the scheduler counts them (a request is in
// cores of whatever node the pod lands on; lacking a reading it is taken as reference cores).
func ExpectedUsage(owners map[types.UID]scoring.Resources, pod *corev1.Pod) scoring.Resources {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if u, ok := owners[ref.UID]; ok {
			return u
		}
	}
	r := scoring.PodRequests(pod).NonZero()
	return scoring.Resources{CPU: float64(r.MilliCPU), Memory: float64(r.Memory)}
}

// LagUsage is what a pod placed since a node's last reading adds to that node's usage, in
// reference units, until the next reading covers it: its requests made non-zero as the scheduler
// counts them, in the node's own cores (factor is the node's NodeClass capacityFactor). The
// scheduler's plugin counts placed pods so (its lag tracker), and the planner and the simulator
// count the replacements they place the same way.
func LagUsage(requests scoring.Requests, factor float64) scoring.Resources {
	r := requests.NonZero()
	return scoring.ToReference(scoring.Resources{CPU: float64(r.MilliCPU), Memory: float64(r.Memory)}, factor)
}

// NoReading is the placement node of a node the table does not know: capacity its allocatable,
// usage the scheduler's non-zero requests on it, of no class.
func NoReading(ni fwk.NodeInfo) scoring.PlacementNode {
	a, r := ni.GetAllocatable(), ni.GetNonZeroRequested()
	return scoring.PlacementNode{
		Capacity:    scoring.Resources{CPU: float64(a.GetMilliCPU()), Memory: float64(a.GetMemory())},
		Usage:       scoring.Resources{CPU: float64(r.GetMilliCPU()), Memory: float64(r.GetMemory())},
		ClassWeight: scoring.NoClassWeight,
	}
}

// PodProfile is the pod's workload profile: the label rebalancer.atarnet.org/profile, or the
// annotation of that name when no label is set.
func PodProfile(pod *corev1.Pod) scoring.Profile {
	if v, ok := pod.Labels[v1alpha1.ProfileKey]; ok {
		return scoring.ParseProfile(v)
	}
	return scoring.ParseProfile(pod.Annotations[v1alpha1.ProfileKey])
}

// NormalizeScore scales RebalancerNodeClassFit's scores so that the best node gets MaxNodeScore
// and the others keep their proportion to it (kube-scheduler's DefaultNormalizeScore):
//
//	normalized = MaxNodeScore x score / max(scores)
//
// Proportions keep the hot band meaningful: a hot node (below HotBand) stays below
// HotBand/max x MaxNodeScore. An all-equal set becomes all MaxNodeScore (no preference); an
// all-zero set (every node hot with nothing to recommend it) stays all zero.
func NormalizeScore(scores fwk.NodeScoreList) *fwk.Status {
	for i := range scores {
		scores[i].Score = min(max(scores[i].Score, 0), fwk.MaxScore)
	}
	return helper.DefaultNormalizeScore(fwk.MaxScore, false, scores)
}

// Weights are the args' placement weights as the score takes them (it divides by their
// sum, so the scale does not matter).
func Weights(w config.PlacementWeights) scoring.PlacementWeights {
	return scoring.PlacementWeights{Headroom: float64(w.Headroom), ClassWeight: float64(w.ClassWeight), Profile: float64(w.Profile)}
}

// tableFit is RebalancerNodeClassFit as the engine runs it: the same score over the Table of the
// engine's current session instead of the scheduler's collector.
type tableFit struct {
	table func() *Table
	pw    scoring.PlacementWeights
}

var (
	_ fwk.PreScorePlugin = (*tableFit)(nil)
	_ fwk.ScorePlugin    = (*tableFit)(nil)
)

const tableFitKey fwk.StateKey = "PreScore" + NodeClassFitName

type tableFitState struct {
	table *Table
	pod   scoring.PlacementPod
	steer string
}

func (s *tableFitState) Clone() fwk.StateData { return s }

// TableFitFactory builds RebalancerNodeClassFit over the Table that table returns at each
// PreScore (nil: the plugin skips). The engine registers it; tests build reference frameworks
// with it.
func TableFitFactory(table func() *Table) frameworkruntime.PluginFactory {
	return func(_ context.Context, obj runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
		args, ok := obj.(*config.RebalancerNodeClassFitArgs)
		if !ok {
			return nil, fmt.Errorf("want args of type %sArgs, got %T", NodeClassFitName, obj)
		}
		return &tableFit{table: table, pw: Weights(args.PlacementWeights)}, nil
	}
}

func (pl *tableFit) Name() string { return NodeClassFitName }

// PreScore returns Skip without a table, as the scheduler's plugin does before its first snapshot.
func (pl *tableFit) PreScore(_ context.Context, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	t := pl.table()
	if t == nil {
		return fwk.NewStatus(fwk.Skip)
	}
	st := &tableFitState{table: t, pod: scoring.PlacementPod{Usage: ExpectedUsage(t.Owners, pod), Profile: PodProfile(pod)}}
	if key, ok := SteerKeyOf(pod); ok && len(t.Steers) > 0 {
		st.steer = SteeredNode(t.Steers[key], t.Now, nil, nodes)
	}
	cs.Write(tableFitKey, st)
	return nil
}

func (pl *tableFit) Score(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	data, err := cs.Read(tableFitKey)
	if err != nil {
		return 0, fwk.AsStatus(fmt.Errorf("reading %q from cycle state: %w", tableFitKey, err))
	}
	st := data.(*tableFitState)
	if st.steer != "" {
		return SteeredScore(ni.Node().Name, st.steer), nil
	}
	pn := st.table.Nodes[ni.Node().Name]
	if pn == nil {
		n := NoReading(ni)
		pn = &n
	}
	return scoring.PlacementScore(pn, &st.pod, st.table.Weights, pl.pw), nil
}

func (pl *tableFit) ScoreExtensions() fwk.ScoreExtensions { return pl }

func (pl *tableFit) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *corev1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	return NormalizeScore(scores)
}

// OwnerUsage accumulates the rule ExpectedUsage reads: per controller (by UID), the mean usage,
// in reference units, of its pods that have a fresh reading:
//
//	owner usage = sum(reading_i x capacityFactor(node_i)) / n   over the n pods with a fresh reading
//
// The scheduler's plugin, the planner and the simulator all build Table.Owners with it.
type OwnerUsage struct {
	sum map[types.UID]scoring.Resources
	n   map[types.UID]float64
}

// Add counts one pod's reading (in its node's own units) for its controller.
func (o *OwnerUsage) Add(owner types.UID, milliCPU, memory, factor float64) {
	if o.sum == nil {
		o.sum, o.n = map[types.UID]scoring.Resources{}, map[types.UID]float64{}
	}
	o.sum[owner] = o.sum[owner].Add(scoring.ToReference(scoring.Resources{CPU: milliCPU, Memory: memory}, factor))
	o.n[owner]++
}

// Means returns the mean usage of each controller counted.
func (o *OwnerUsage) Means() map[types.UID]scoring.Resources {
	out := make(map[types.UID]scoring.Resources, len(o.sum))
	for uid, s := range o.sum {
		out[uid] = scoring.Resources{CPU: s.CPU / o.n[uid], Memory: s.Memory / o.n[uid]}
	}
	return out
}
