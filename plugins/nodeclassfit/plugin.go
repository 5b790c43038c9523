package nodeclassfit

import (
	"context"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/utils/clock"

	"github.com/tinorodney/rebalancer/apis/config"
	// The args are a kube-scheduler config kind; importing the scheme registers them, so any
	// binary that wires this plugin decodes its args strictly.
	_ "github.com/tinorodney/rebalancer/apis/config/scheme"
	configv1 "github.com/tinorodney/rebalancer/apis/config/v1"
	"github.com/tinorodney/rebalancer/apis/config/validation"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// Name is the plugin's name in a KubeSchedulerConfiguration; its args are the kind
// RebalancerNodeClassFitArgs.
const Name = placement.NodeClassFitName

// stateKey is where PreScore leaves the pod's data for Score.
const stateKey fwk.StateKey = "PreScore" + Name

// Plugin is the RebalancerNodeClassFit Score plugin.
type Plugin struct {
	args    config.RebalancerNodeClassFitArgs
	clock   clock.PassiveClock
	metrics *metrics.Scheduler
	snap    atomic.Pointer[snapshot]
	lag     *lagTracker
	steer   *steering
	cancel  context.CancelFunc
	done    chan struct{}
}

var (
	_ fwk.PreScorePlugin = (*Plugin)(nil)
	_ fwk.ScorePlugin    = (*Plugin)(nil)
	_ fwk.ReservePlugin  = (*Plugin)(nil)
	_ fwk.PostBindPlugin = (*Plugin)(nil)
	_ fwk.SignPlugin     = (*Plugin)(nil)
)

// New builds the plugin as kube-scheduler does: usage from the source the RebalancePolicy
// names, metrics in kube-scheduler's registry.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	return newPlugin(ctx, obj, h, defaultOptions())
}

// NewFactory returns a plugin factory with options, for programs that embed the scheduler (an
// out-of-tree registry built with app.WithPlugin(Name, NewFactory(...))) and for tests.
func NewFactory(opts ...Option) frameworkruntime.PluginFactory {
	return func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		o := defaultOptions()
		for _, opt := range opts {
			opt(o)
		}
		return newPlugin(ctx, obj, h, o)
	}
}

func newPlugin(ctx context.Context, obj runtime.Object, h fwk.Handle, o *options) (*Plugin, error) {
	args, err := argsFrom(obj)
	if err != nil {
		return nil, err
	}
	if errs := validation.ValidateRebalancerNodeClassFitArgs(nil, args); len(errs) > 0 {
		return nil, fmt.Errorf("invalid %sArgs: %w", Name, errs.ToAggregate())
	}
	m, err := registerMetrics(o.registerer)
	if err != nil {
		return nil, err
	}
	pl := &Plugin{args: *args, clock: o.clock, metrics: m, lag: newLagTracker(), steer: newSteering(), done: make(chan struct{})}
	c, err := newCollector(*args, h, o, pl.lag, pl.steer, func(s *snapshot, sum Summary) {
		pl.snap.Store(s)
		if o.onSnapshot != nil {
			o.onSnapshot(sum)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	// The collector lives as long as the scheduler's context, or until Close.
	ctx, pl.cancel = context.WithCancel(ctx)
	go func() {
		defer close(pl.done)
		c.run(ctx)
	}()
	klog.FromContext(ctx).V(2).Info("Plugin built", "plugin", Name, "profile", h.ProfileName(), "policy", args.PolicyName,
		"placementWeights", args.PlacementWeights, "usageRefreshInterval", args.UsageRefreshInterval.Duration)
	return pl, nil
}

// argsFrom returns the internal args. kube-scheduler converts the args it decoded to the internal
// type; no args at all (a registry that configures none) means the defaults.
func argsFrom(obj runtime.Object) (*config.RebalancerNodeClassFitArgs, error) {
	switch a := obj.(type) {
	case *config.RebalancerNodeClassFitArgs:
		return a, nil
	case nil:
		v1args := &configv1.RebalancerNodeClassFitArgs{}
		configv1.SetDefaults_RebalancerNodeClassFitArgs(v1args)
		out := &config.RebalancerNodeClassFitArgs{}
		if err := configv1.Convert_v1_RebalancerNodeClassFitArgs_To_config_RebalancerNodeClassFitArgs(v1args, out, nil); err != nil {
			return nil, err
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want args of type %sArgs, got %T", Name, obj)
	}
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// Close stops the collector; the framework calls it when the profile shuts down.
func (pl *Plugin) Close() error {
	pl.cancel()
	<-pl.done
	return nil
}

// preScoreState is the pod's data for one scheduling cycle, with the snapshot it was computed
// against, so every node of the cycle is scored against the same snapshot.
type preScoreState struct {
	snap *snapshot
	pod  scoring.PlacementPod
	// steer is the node the evictor planned for this pod's workload (steering), or "".
	steer string
}

// Clone returns the state itself: nothing in it changes after PreScore.
func (s *preScoreState) Clone() fwk.StateData { return s }

// PreScore computes the pod's expected usage and workload profile once per cycle, and whether the
// evictor steered the pod's workload to one of the feasible nodes. It returns Skip until the
// collector has published its first snapshot: without NodeClasses, policy and usage the plugin
// has nothing to add, and the other Score plugins decide alone.
func (pl *Plugin) PreScore(ctx context.Context, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	snap := pl.snap.Load()
	if snap == nil {
		klog.FromContext(ctx).V(4).Info("No snapshot yet, skipping", "plugin", Name, "pod", klog.KObj(pod))
		return fwk.NewStatus(fwk.Skip)
	}
	cs.Write(stateKey, &preScoreState{
		snap:  snap,
		pod:   scoring.PlacementPod{Usage: placement.ExpectedUsage(snap.owners, pod), Profile: placement.PodProfile(pod)},
		steer: pl.steer.pick(pod, nodes, pl.clock.Now()),
	})
	return nil
}

// Score is pkg/scoring's PlacementScore of the node for the pod (the formula is written above
// PlacementScore): headroom after placing the pod's expected usage on the node's usage, in
// reference units; the NodeClass's weight; whether the class prefers the pod's profile; and hot
// nodes kept below every other node. A pod the evictor steered (steering) scores MaxNodeScore on
// its planned node and 0 elsewhere instead. It reads only the snapshot PreScore pinned and
// allocates nothing. One node in 16 times its call into the score duration histogram.
func (pl *Plugin) Score(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	data, err := cs.Read(stateKey)
	if err != nil {
		return 0, fwk.AsStatus(fmt.Errorf("reading %q from cycle state: %w", stateKey, err))
	}
	st, ok := data.(*preScoreState)
	if !ok {
		return 0, fwk.AsStatus(fmt.Errorf("unexpected %T in cycle state under %q", data, stateKey))
	}
	if st.steer != "" {
		return placement.SteeredScore(ni.Node().Name, st.steer), nil
	}
	pn, timed := st.snap.placementNode(ni)
	if !timed {
		return scoring.PlacementScore(&pn, &st.pod, st.snap.weights, st.snap.placementWeights), nil
	}
	start := pl.clock.Now()
	score := scoring.PlacementScore(&pn, &st.pod, st.snap.weights, st.snap.placementWeights)
	pl.metrics.ScoreDuration.Observe(pl.clock.Since(start).Seconds())
	return score, nil
}

// ScoreExtensions returns the plugin itself, which normalizes its scores.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore is placement.NormalizeScore: the best node gets MaxNodeScore, the others keep
// their proportion to it.
func (pl *Plugin) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *corev1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	return placement.NormalizeScore(scores)
}

// Reserve counts the pod on the node right away, before it is bound, so the next cycle does not
// see the node as empty as its reading says (see lagTracker).
// It also uses the workload's steer, if any.
func (pl *Plugin) Reserve(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, nodeName string) *fwk.Status {
	pl.lag.reserve(pod, nodeName)
	pl.steer.reserve(pod, nodeName, pl.clock.Now())
	return nil
}

// Unreserve takes back what Reserve counted and the steer it used.
func (pl *Plugin) Unreserve(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, _ string) {
	pl.lag.unreserve(pod)
	pl.steer.unreserve(pod)
}

// PostBind counts the placement by the node's NodeClass and classification.
func (pl *Plugin) PostBind(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, nodeName string) {
	pl.steer.bound(pod)
	class, classification := "", scoring.Normal
	if s := pl.snap.Load(); s != nil {
		if e := s.nodes[nodeName]; e != nil {
			class, classification = e.class, e.classification
		}
	}
	pl.metrics.Placements.WithLabelValues(class, classification.String()).Inc()
}

// signature is what the plugin's score depends on in a pod: two pods that share it score the
// same on every node, so kube-scheduler may reuse one's ranking for the other (opportunistic
// batching).
type signature struct {
	Profile  scoring.Profile
	Owner    types.UID
	Requests scoring.Requests
}

// SignPod returns the pod's signature fragment. A pod whose workload is steered is not signed: its
// ranking is its own, not one to reuse for the workload's other pods.
func (pl *Plugin) SignPod(_ context.Context, pod *corev1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if pl.steer.active(pod, pl.clock.Now()) {
		return nil, fwk.NewStatus(fwk.Unschedulable, "the workload is steered to a planned node")
	}
	sig := signature{Profile: placement.PodProfile(pod), Requests: scoring.PodRequests(pod)}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		sig.Owner = ref.UID
	}
	return []fwk.SignFragment{{Key: Name, Value: sig}}, nil
}
