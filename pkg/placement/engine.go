package placement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	clientset "k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
)

// Options configure an Engine.
type Options struct {
	// Configs are the KubeSchedulerConfigurations of the schedulers that place pods: usually
	// DefaultConfig() for the cluster's default scheduler and the Rebalancer's scheduler's file.
	// A scheduler name that appears twice is an error.
	Configs []*schedconfig.KubeSchedulerConfiguration
	// Informers serve the listers the in-tree plugins read. The caller starts it and waits for
	// its caches after New (the plugins register their informers while New builds them).
	Informers informers.SharedInformerFactory
	// Client is the framework handle's client; plugins that only filter and score never call it.
	Client clientset.Interface
	// Parallelism is how many goroutines filter and score nodes; 0 means kube-scheduler's 16.
	Parallelism int
}

// Engine places pods with the real scheduler framework, one per scheduler profile. Sessions on
// one engine run one at a time.
type Engine struct {
	profiles map[string]*profile
	lister   *lister
	pods     podInfos
	// table is the session's RebalancerNodeClassFit input; set while a session is open.
	table *Table
	mu    sync.Mutex
	runs  atomic.Uint64
	// spread are the listers kube-scheduler's default topology spreading reads to build a
	// pod's selector (SpreadSelector); nil without informers.
	spread *spreadListers
}

type spreadListers struct {
	services     corelisters.ServiceLister
	controllers  corelisters.ReplicationControllerLister
	replicaSets  appslisters.ReplicaSetLister
	statefulSets appslisters.StatefulSetLister
}

type profile struct {
	name       string
	fw         framework.Framework
	percentage *int32
	// steers is true when RebalancerNodeClassFit scores for this profile: it follows the
	// evictor's steers (SteeringIndex).
	steers bool
}

var registerMetrics sync.Once

// New builds the frameworks of every profile in opts.Configs from kube-scheduler's in-tree
// registry plus RebalancerNodeClassFit (reading the session's Table).
func New(ctx context.Context, opts Options) (*Engine, error) {
	// The framework records into kube-scheduler's metrics, which must exist.
	registerMetrics.Do(schedmetrics.Register)
	e := &Engine{profiles: map[string]*profile{}, lister: &lister{}, pods: podInfos{m: map[types.UID]*cachedPod{}}}
	registry := plugins.NewInTreeRegistry()
	if err := registry.Register(NodeClassFitName, TableFitFactory(func() *Table { return e.table })); err != nil {
		return nil, err
	}
	// DynamicResources, enabled, watches every pod through the informer factory (an index of
	// pods by claim): that would cache each pod of the cluster a second time, in full. The
	// engine runs it disabled: it then skips every pod, as it does for pods without resource
	// claims, which are the only pods the planner moves (see ReasonResourceClaims).
	registry[dynamicresources.Name] = func(ctx context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
		return dynamicresources.New(ctx, obj, fh, feature.Features{})
	}
	fopts := []frameworkruntime.Option{
		frameworkruntime.WithSnapshotSharedLister(e.lister),
		frameworkruntime.WithInformerFactory(opts.Informers),
		frameworkruntime.WithClientSet(opts.Client),
		frameworkruntime.WithLogger(klog.FromContext(ctx)),
	}
	if opts.Parallelism > 0 {
		fopts = append(fopts, frameworkruntime.WithParallelism(opts.Parallelism))
	}
	for _, cfg := range opts.Configs {
		for i := range cfg.Profiles {
			p := &cfg.Profiles[i]
			if _, dup := e.profiles[p.SchedulerName]; dup {
				return nil, fmt.Errorf("scheduler %q is configured twice", p.SchedulerName)
			}
			fw, err := frameworkruntime.NewFramework(ctx, registry, p, fopts...)
			if err != nil {
				return nil, fmt.Errorf("building the framework of scheduler %q: %w", p.SchedulerName, err)
			}
			pct := p.PercentageOfNodesToScore
			if pct == nil {
				pct = cfg.PercentageOfNodesToScore
			}
			e.profiles[p.SchedulerName] = &profile{name: p.SchedulerName, fw: fw, percentage: pct, steers: scores(fw, NodeClassFitName)}
		}
	}
	if len(e.profiles) == 0 {
		return nil, errors.New("no scheduler profile configured")
	}
	if f := opts.Informers; f != nil {
		// The same informers PodTopologySpread registered (the caller starts the factory after New).
		e.spread = &spreadListers{services: f.Core().V1().Services().Lister(), controllers: f.Core().V1().ReplicationControllers().Lister(),
			replicaSets: f.Apps().V1().ReplicaSets().Lister(), statefulSets: f.Apps().V1().StatefulSets().Lister()}
	}
	return e, nil
}

// SpreadSelector is the selector kube-scheduler's default topology spreading builds for pod
// (the system default constraints, which apply to a pod without constraints of its own): the
// selectors of the Services, ReplicationControllers, ReplicaSets and StatefulSets that select
// it, ANDed, as upstream's helper.DefaultSelector builds it from the engine's informers. The
// spread score of pod's replacement counts the pods of pod's namespace it matches; an empty
// selector means the default constraints do not apply. An engine without informers has no
// default spreading in any profile (PodTopologySpread refuses to be built with default
// constraints and no informers): its selector is always empty.
func (e *Engine) SpreadSelector(pod *corev1.Pod) labels.Selector {
	if e.spread == nil {
		return labels.Nothing()
	}
	l := e.spread
	return helper.DefaultSelector(pod, l.services, l.controllers, l.replicaSets, l.statefulSets)
}

// NodesToScore is how many feasible nodes the scheduler scores in a cluster of allNodes nodes
// (its percentageOfNodesToScore, NumFeasibleNodesToFind); ok is false for a scheduler the engine
// does not know.
func (e *Engine) NodesToScore(schedulerName string, allNodes int) (n int, ok bool) {
	p, ok := e.profiles[profileName(schedulerName)]
	if !ok {
		return 0, false
	}
	return NumFeasibleNodesToFind(p.percentage, allNodes), true
}

// ScoringEveryNode are the schedulers the engine places pods for, sorted, that score every
// feasible node of a cluster of allNodes nodes: their replacements land on a node the engine can
// name before the eviction, unless top scores tie.
func (e *Engine) ScoringEveryNode(allNodes int) []string {
	var out []string
	for _, s := range e.Schedulers() {
		if n, ok := e.NodesToScore(s, allNodes); ok && n >= allNodes {
			out = append(out, s)
		}
	}
	return out
}

// Schedulers are the scheduler names the engine places pods for, sorted.
func (e *Engine) Schedulers() []string {
	out := make([]string, 0, len(e.profiles))
	for n := range e.profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Handles reports whether the engine knows the scheduler.
func (e *Engine) Handles(schedulerName string) bool {
	_, ok := e.profiles[profileName(schedulerName)]
	return ok
}

// NewRun returns a number unique among the engine's runs, for callers that invent pods (the
// simulator's replacements): the engine caches pods by UID, so invented UIDs must not repeat
// across runs on one engine.
func (e *Engine) NewRun() uint64 { return e.runs.Add(1) }

// Steers reports whether the scheduler follows the evictor's steers: its profile scores with
// RebalancerNodeClassFit, which prefers a steered workload's planned node (SteeringIndex).
func (e *Engine) Steers(schedulerName string) bool {
	p := e.profiles[profileName(schedulerName)]
	return p != nil && p.steers
}

func scores(fw framework.Framework, plugin string) bool {
	for _, p := range fw.ListPlugins().Score.Enabled {
		if p.Name == plugin && p.Weight > 0 {
			return true
		}
	}
	return false
}

// Close shuts the frameworks down.
func (e *Engine) Close() error {
	var errs []error
	for _, p := range e.profiles {
		errs = append(errs, p.fw.Close())
	}
	return errors.Join(errs...)
}

func profileName(schedulerName string) string {
	if schedulerName == "" {
		return DefaultSchedulerName
	}
	return schedulerName
}

// Session is a cluster state pods are placed on, with the moves made so far. The engine's
// frameworks read it until Close.
type Session struct {
	e     *Engine
	state *clusterState
	open  bool
}

// Open starts a session over nodes and the pods bound to them, with table as
// RebalancerNodeClassFit's input (nil: the plugin skips, as before its first snapshot). The
// caller must Close it; until then other sessions wait. The scheduler's view of each pod is kept
// between sessions and made again only for pods that changed.
func (e *Engine) Open(nodes []*corev1.Node, pods []Pod, table *Table) (*Session, error) {
	e.mu.Lock()
	state, err := newClusterState(nodes, pods, &e.pods)
	if err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("building the scheduler's view of the cluster: %w", err)
	}
	e.lister.set(state)
	e.table = table
	return &Session{e: e, state: state, open: true}, nil
}

// Close ends the session and lets the next one open.
func (s *Session) Close() {
	if !s.open {
		return
	}
	s.open = false
	s.e.lister.set(nil)
	s.e.table = nil
	s.e.mu.Unlock()
}

// Move applies an eviction and its replacement's placement: pod leaves its node and replacement
// is bound to node to. Either may be nil (a pod that is only removed, a pod only added).
func (s *Session) Move(ctx context.Context, pod, replacement *corev1.Pod, to string) error {
	if pod != nil {
		if err := s.state.remove(klog.FromContext(ctx), pod); err != nil {
			return fmt.Errorf("removing pod %s from %s: %w", klog.KObj(pod), pod.Spec.NodeName, err)
		}
	}
	if replacement != nil {
		r := replacement.DeepCopy()
		r.Spec.NodeName = to
		if err := s.state.add(r, to); err != nil {
			return fmt.Errorf("adding pod %s to %s: %w", klog.KObj(r), to, err)
		}
	}
	return nil
}

// Evicting marks pod as kube-scheduler sees an evicted pod while its controller's replacement is
// scheduled: terminating (deletionTimestamp set at), its requests still held on its node, but no
// longer counted by the plugins that skip terminating pods (PodTopologySpread counts only pods
// that are not terminating). restore puts the pod back as it was.
func (s *Session) Evicting(ctx context.Context, pod *corev1.Pod, at time.Time) (restore func() error, err error) {
	logger := klog.FromContext(ctx)
	if err := s.state.remove(logger, pod); err != nil {
		return nil, fmt.Errorf("marking pod %s terminating: %w", klog.KObj(pod), err)
	}
	t := pod.DeepCopy()
	ts := metav1.NewTime(at)
	t.DeletionTimestamp = &ts
	if err := s.state.add(t, pod.Spec.NodeName); err != nil {
		return nil, fmt.Errorf("marking pod %s terminating: %w", klog.KObj(pod), err)
	}
	return func() error {
		if err := s.state.remove(logger, t); err != nil {
			return err
		}
		return s.state.add(pod, pod.Spec.NodeName)
	}, nil
}

// NodeScore is a node's total score from the scheduler's Score plugins (weighted, normalized).
type NodeScore struct {
	Node  string
	Score int64
}

// Prediction is where a scheduler may put a pod.
type Prediction struct {
	// Scheduler is the profile that places the pod.
	Scheduler string
	// Feasible counts the nodes that pass every Filter plugin; Unschedulable says why none did.
	Feasible      int
	Unschedulable string
	// ToScore is how many feasible nodes the scheduler looks for before it scores
	// (percentageOfNodesToScore); Sampled is true when that is fewer than Feasible, so the
	// scheduler scores a sample and may pick any node of Possible.
	ToScore int
	Sampled bool
	// Top are the feasible nodes with the highest score, sorted by name: the scheduler picks one
	// of them at random when it scores every feasible node.
	Top []string
	// Possible are the nodes the scheduler may pick: Top, or under sampling every feasible node
	// at least ToScore-1 other feasible nodes do not beat (see possible). Sorted by name.
	Possible []string
	// Scores are the feasible nodes' scores, highest first (ties by name).
	Scores []NodeScore
}

// Lands reports whether node is one the scheduler may pick.
func (p Prediction) Lands(node string) bool {
	_, ok := slices.BinarySearch(p.Possible, node)
	return ok
}

func (p Prediction) String() string {
	switch {
	case p.Feasible == 0:
		return fmt.Sprintf("%s: no feasible node (%s)", p.Scheduler, p.Unschedulable)
	case p.Sampled:
		return fmt.Sprintf("%s: any of %d nodes (samples %d of %d feasible), best %s", p.Scheduler, len(p.Possible), p.ToScore, p.Feasible, strings.Join(p.Top, ","))
	default:
		return fmt.Sprintf("%s: %s", p.Scheduler, strings.Join(p.Top, ","))
	}
}

// ErrUnknownScheduler is returned for a pod whose scheduler the engine has no profile for.
var ErrUnknownScheduler = errors.New("no profile for the pod's scheduler")

// Predict runs the pod's scheduler over the session's state as kube-scheduler's schedulePod does:
// PreFilter, Filter on every node (the PreFilter result's nodes when it narrows them), PreScore
// and Score on the feasible nodes. Unlike kube-scheduler it filters and scores every feasible
// node and reports, instead of drawing one, the set the scheduler draws from.
func (s *Session) Predict(ctx context.Context, pod *corev1.Pod) (Prediction, error) {
	p, ok := s.e.profiles[profileName(pod.Spec.SchedulerName)]
	if !ok {
		return Prediction{}, fmt.Errorf("%w %q", ErrUnknownScheduler, pod.Spec.SchedulerName)
	}
	out := Prediction{Scheduler: p.name}
	state := framework.NewCycleState()
	all, err := s.state.List()
	if err != nil {
		return out, err
	}
	preRes, status, _ := p.fw.RunPreFilterPlugins(ctx, state, pod)
	if !status.IsSuccess() {
		if !status.IsRejected() {
			return out, status.AsError()
		}
		out.Unschedulable = status.Message()
		return out, nil
	}
	nodes := all
	if !preRes.AllNodes() {
		nodes = make([]fwk.NodeInfo, 0, len(preRes.NodeNames))
		for name := range preRes.NodeNames {
			if ni, err := s.state.Get(name); err == nil {
				nodes = append(nodes, ni)
			}
		}
	}
	feasible, reasons := s.filter(ctx, p, state, pod, nodes)
	out.Feasible = len(feasible)
	out.ToScore = NumFeasibleNodesToFind(p.percentage, len(all))
	if len(feasible) == 0 {
		out.Unschedulable = reasons
		return out, nil
	}
	if len(feasible) == 1 {
		name := feasible[0].Node().Name
		out.Top, out.Possible = []string{name}, []string{name}
		out.Scores = []NodeScore{{Node: name}}
		return out, nil
	}
	if st := p.fw.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		return out, st.AsError()
	}
	scores, st := p.fw.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return out, st.AsError()
	}
	named := make([]NodeScore, len(scores))
	for i, ns := range scores {
		named[i] = NodeScore{Node: ns.Name, Score: ns.TotalScore}
	}
	out.Scores, named = rankScores(named)
	out.Top = top(out.Scores)
	sortStrings(out.Top)
	out.Sampled = out.ToScore < out.Feasible
	out.Possible = out.Top
	if out.Sampled {
		out.Possible = possible(out.Scores, named, out.ToScore)
	}
	return out, nil
}

// filter runs the Filter plugins on nodes with the framework's parallelizer and returns the
// feasible ones in the snapshot's order, and the reasons of the others counted, for a message.
func (s *Session) filter(ctx context.Context, p *profile, state fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) ([]fwk.NodeInfo, string) {
	ok := make([]bool, len(nodes))
	why := make([]string, len(nodes))
	p.fw.Parallelizer().Until(ctx, len(nodes), func(i int) {
		st := p.fw.RunFilterPlugins(ctx, state, pod, nodes[i])
		if st.IsSuccess() {
			ok[i] = true
			return
		}
		why[i] = st.Message()
	}, "Filter")
	var feasible []fwk.NodeInfo
	counts := map[string]int{}
	for i, n := range nodes {
		if ok[i] {
			feasible = append(feasible, n)
		} else {
			counts[why[i]]++
		}
	}
	msgs := make([]string, 0, len(counts))
	for m, c := range counts {
		msgs = append(msgs, fmt.Sprintf("%d node(s): %s", c, m))
	}
	sort.Strings(msgs)
	return feasible, strings.Join(msgs, "; ")
}

func sortStrings(s []string) { sort.Strings(s) }

// rankScores returns the scores ordered by score, highest first, then by node name, and the same
// scores in the order of the names (it sorts s in place for that). The framework returns scores
// in the order of the nodes it was given, the snapshot's order by name, unless a PreFilter plugin
// narrowed them. From the name order, buckets by score, each keeping the name order, are linear:
// thousands of nodes tie at a few hundred scores, and a comparison sort compares their names
// again and again.
func rankScores(s []NodeScore) (ranked, byName []NodeScore) {
	if !slices.IsSortedFunc(s, compareNodeNames) {
		slices.SortFunc(s, compareNodeNames)
	}
	next := map[int64]int{} // the count per score, then the next index of its bucket
	for _, ns := range s {
		next[ns.Score]++
	}
	scores := make([]int64, 0, len(next))
	for sc := range next {
		scores = append(scores, sc)
	}
	slices.SortFunc(scores, func(a, b int64) int { return cmp.Compare(b, a) })
	at := 0
	for _, sc := range scores {
		at, next[sc] = at+next[sc], at
	}
	ranked = make([]NodeScore, len(s))
	for _, ns := range s {
		ranked[next[ns.Score]] = ns
		next[ns.Score]++
	}
	return ranked, s
}

func compareNodeNames(a, b NodeScore) int { return strings.Compare(a.Node, b.Node) }

// top are the nodes sharing the highest score, sorted by name. s is ranked (rankScores).
func top(s []NodeScore) []string {
	var out []string
	for _, ns := range s {
		if ns.Score != s[0].Score {
			break
		}
		out = append(out, ns.Node)
	}
	return out
}

// lister serves the session's cluster state to the frameworks, which keep the lister they were
// built with.
type lister struct {
	*clusterState
}

func (l *lister) set(s *clusterState) { l.clusterState = s }
