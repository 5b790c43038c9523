package placement_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// The engine, fed as the planner feeds it (the planner's compact pods, moves applied to its
// session), predicts exactly the set of top-scoring feasible nodes that kube-scheduler's own
// framework computes from the full API objects, built by the scheduler's profile.NewMap from the
// same configurations, for both profiles, on random clusters with taints, node affinity, spread
// constraints, inter-pod affinity, ReplicaSets of several replicas, Services and NodeClasses.
// It also reports, once, how often the hand-written models it replaces picked a node outside
// that set.
func TestEngineMatchesUpstreamFramework(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	if v, err := strconv.Atoi(os.Getenv("PLACEMENT_CLUSTERS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clusters := make([]*randomCluster, n)
	var objs []runtime.Object
	for i := range clusters {
		clusters[i] = newRandomCluster(uint64(i))
		objs = append(objs, clusters[i].objects...)
	}
	configs := testConfigs(t)
	engine, err := placement.NewStatic(ctx, configs, objs...)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	ref := newReference(ctx, t, configs, objs)

	var compared, ties int
	perScheduler, modelMisses, modelCompared := map[string]int{}, map[string]int{}, map[string]int{}
	for _, c := range clusters {
		got, want, model := c.run(ctx, t, engine, ref)
		compared++
		perScheduler[want.scheduler]++
		if diff := cmp.Diff(want.top, got.Top); diff != "" || want.feasible != got.Feasible {
			t.Errorf("cluster %d (%s, pod %s, %d moves first): top nodes (-upstream,+engine):\n%s\nfeasible upstream %d, engine %d",
				c.seed, want.scheduler, c.candidate.Name, len(c.moves), diff, want.feasible, got.Feasible)
			continue
		}
		if diff := cmp.Diff(want.top, got.Possible); diff != "" && !got.Sampled {
			t.Errorf("cluster %d: Possible differs from Top without sampling (-top,+possible):\n%s", c.seed, diff)
		}
		if len(got.Top) > 1 {
			ties++
		}
		if model != "" {
			modelCompared[want.scheduler]++
			if !slices.Contains(want.top, model) {
				modelMisses[want.scheduler]++
			}
		}
	}
	if compared != n {
		t.Fatalf("compared %d clusters, want %d", compared, n)
	}
	d, r := placement.DefaultSchedulerName, v1alpha1.SchedulerName
	t.Logf("%d random clusters (%v; every other one with the candidate terminating, as the planner predicts an eviction): engine == upstream framework on all that passed; %d had tied top nodes. For the record, "+
		"the hand-written models it replaced picked a node outside the upstream top set: DefaultSchedulerScore in %d of %d (%.1f%%), "+
		"PlacementScore alone for rebalancer-scheduler in %d of %d (%.1f%%)",
		compared, perScheduler, ties, modelMisses[d], modelCompared[d], pct(modelMisses[d], modelCompared[d]),
		modelMisses[r], modelCompared[r], pct(modelMisses[r], modelCompared[r]))
	if perScheduler[placement.DefaultSchedulerName] == 0 || perScheduler[v1alpha1.SchedulerName] == 0 {
		t.Errorf("both profiles must be exercised: %v", perScheduler)
	}
}

func pct(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }

func testConfigs(t *testing.T) []*schedconfig.KubeSchedulerConfiguration {
	t.Helper()
	def, err := placement.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../manifests/scheduler/kube-scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := placement.LoadConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return []*schedconfig.KubeSchedulerConfiguration{def, ours}
}

// reference is kube-scheduler's own profiles over a snapshot the test swaps per cluster.
type reference struct {
	profiles profile.Map
	lister   *swapLister
	table    *placement.Table
}

type swapLister struct{ *cache.Snapshot }

func newReference(ctx context.Context, t *testing.T, configs []*schedconfig.KubeSchedulerConfiguration, objs []runtime.Object) *reference {
	t.Helper()
	schedmetrics.Register() // the framework records into kube-scheduler's metrics
	r := &reference{lister: &swapLister{}}
	registry := plugins.NewInTreeRegistry()
	if err := registry.Register(placement.NodeClassFitName, placement.TableFitFactory(func() *placement.Table { return r.table })); err != nil {
		t.Fatal(err)
	}
	// Enabled, DynamicResources needs kube-scheduler's DRA manager (it panics without one on
	// pods requesting extended resources); the engine runs it disabled and the planner holds
	// back pods with resource claims, so the reference does the same.
	registry[dynamicresources.Name] = func(ctx context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
		return dynamicresources.New(ctx, obj, fh, feature.Features{})
	}
	cs := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(cs, 0)
	var profiles []schedconfig.KubeSchedulerProfile
	for _, c := range configs {
		profiles = append(profiles, c.Profiles...)
	}
	recorders := func(string) events.EventRecorderLogger { return events.NewFakeRecorder(100) }
	m, err := profile.NewMap(ctx, profiles, registry, recorders,
		frameworkruntime.WithSnapshotSharedLister(r.lister), frameworkruntime.WithInformerFactory(factory), frameworkruntime.WithClientSet(cs))
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	r.profiles = m
	return r
}

type refResult struct {
	scheduler string
	feasible  int
	top       []string
}

// place runs the framework's extension points as kube-scheduler's schedulePod does, over every
// node, and returns the feasible count and the nodes sharing the top total score.
func (r *reference) place(ctx context.Context, t *testing.T, pods []*corev1.Pod, nodes []*corev1.Node, pod *corev1.Pod, table *placement.Table) refResult {
	t.Helper()
	name := pod.Spec.SchedulerName
	fw := r.profiles[name]
	if fw == nil {
		t.Fatalf("no profile %q", name)
	}
	r.lister.Snapshot = cache.NewSnapshot(pods, nodes)
	r.table = table
	out := refResult{scheduler: name}
	state := framework.NewCycleState()
	preRes, st, _ := fw.RunPreFilterPlugins(ctx, state, pod)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			t.Fatal(st.AsError())
		}
		return out
	}
	all, _ := r.lister.NodeInfos().List()
	var feasible []fwk.NodeInfo
	for _, ni := range all {
		if !preRes.AllNodes() && !preRes.NodeNames.Has(ni.Node().Name) {
			continue
		}
		if fw.RunFilterPlugins(ctx, state, pod, ni).IsSuccess() {
			feasible = append(feasible, ni)
		}
	}
	out.feasible = len(feasible)
	switch len(feasible) {
	case 0:
		return out
	case 1:
		out.top = []string{feasible[0].Node().Name}
		return out
	}
	if st := fw.RunPreScorePlugins(ctx, state, pod, feasible); !st.IsSuccess() {
		t.Fatal(st.AsError())
	}
	scores, st := fw.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		t.Fatal(st.AsError())
	}
	best := int64(-1 << 62)
	for _, s := range scores {
		best = max(best, s.TotalScore)
	}
	for _, s := range scores {
		if s.TotalScore == best {
			out.top = append(out.top, s.Name)
		}
	}
	sort.Strings(out.top)
	return out
}

// randomCluster is one cluster: nodes, pods as the API returns them, the controllers and
// namespace, RebalancerNodeClassFit's table, a few moves made before the prediction, and the pod
// whose replacement is placed.
type randomCluster struct {
	seed      uint64
	nodes     []*corev1.Node
	pods      []*corev1.Pod
	objects   []runtime.Object
	table     func() *placement.Table
	moves     []move
	candidate *corev1.Pod
}

type move struct {
	pod *corev1.Pod
	to  string
}

func newRandomCluster(seed uint64) *randomCluster {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := rng.IntN
	chance := func(p float64) bool { return rng.Float64() < p }
	c := &randomCluster{seed: seed}
	ns := fmt.Sprintf("ns-%d", seed)
	c.objects = append(c.objects, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": []string{"a", "b"}[pick(2)]}}})

	nNodes := 8
	twins := chance(0.4)
	for i := range nNodes {
		name := fmt.Sprintf("c%d-n%d", seed, i)
		arch := []string{"amd64", "amd64", "arm64"}[pick(3)]
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				corev1.LabelHostname: name, corev1.LabelTopologyZone: []string{"z1", "z2", "z3"}[pick(3)], corev1.LabelArchStable: arch,
				"disk": []string{"ssd", "hdd"}[pick(2)],
			}},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse([]string{"2", "4", "8", "16"}[pick(4)]),
					corev1.ResourceMemory: resource.MustParse([]string{"4Gi", "8Gi", "16Gi", "32Gi"}[pick(4)]),
					corev1.ResourcePods:   resource.MustParse([]string{"110", "110", "6"}[pick(3)]),
				},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			},
		}
		n.Status.Capacity = n.Status.Allocatable
		switch {
		case chance(0.12):
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule})
		case chance(0.15):
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "spot", Value: "true", Effect: corev1.TaintEffectPreferNoSchedule})
		case chance(0.04):
			n.Spec.Unschedulable = true
		}
		if chance(0.3) {
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.example/app:1"}, SizeBytes: 300 << 20}}
		}
		if i >= nNodes-3 && twins {
			// Identical empty nodes, as clusters have after a scale-up: kube-scheduler ties them.
			n = c.nodes[nNodes-4].DeepCopy()
			n.Name, n.Labels[corev1.LabelHostname] = name, name
		}
		c.nodes = append(c.nodes, n)
	}
	empty := map[string]bool{}
	if twins {
		for _, n := range c.nodes[nNodes-4:] {
			empty[n.Name] = true
		}
	}

	nRS := 2 + pick(4)
	for r := range nRS {
		app := fmt.Sprintf("app%d", r)
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app + "-5d9f", UID: types.UID(fmt.Sprintf("%s-rs-%d", ns, r))},
			Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app, "pod-template-hash": "5d9f"}}},
		}
		c.objects = append(c.objects, rs)
		if chance(0.4) {
			c.objects = append(c.objects, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app}}})
		}
		spec := randomSpec(rng, app, int32(18080+r))
		replicas := 1 + pick(5)
		// kube-scheduler never puts two pods wanting one host port on a node (and NodeInfo keeps
		// used ports as a set, so such a state would not even be counted right).
		usedNodes := map[string]bool{}
		for k := range replicas {
			p := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-5d9f-%d", app, k), UID: types.UID(fmt.Sprintf("%s-%s-%d", ns, app, k)),
					Labels:          map[string]string{"app": app, "pod-template-hash": "5d9f", v1alpha1.OptInLabelKey: v1alpha1.OptInLabelValue},
					Annotations:     map[string]string{"note": "not read by any plugin", corev1.LastAppliedConfigAnnotation: "{}"},
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}},
				Spec:   *spec.DeepCopy(),
				Status: corev1.PodStatus{Phase: corev1.PodRunning},
			}
			if chance(0.3) {
				p.Labels[v1alpha1.ProfileKey] = []string{"cpu-bound", "memory-bound", "balanced"}[pick(3)]
			}
			p.Spec.NodeName = c.nodes[pick(nNodes)].Name
			hostPort := len(spec.Containers[0].Ports) > 0
			for tries := 0; empty[p.Spec.NodeName] || (hostPort && usedNodes[p.Spec.NodeName]); tries++ {
				p.Spec.NodeName = c.nodes[pick(nNodes)].Name
				if tries > 100 {
					break
				}
			}
			if hostPort && usedNodes[p.Spec.NodeName] {
				continue
			}
			usedNodes[p.Spec.NodeName] = true
			c.pods = append(c.pods, p)
		}
	}
	// A few pods of no controller, some with required anti-affinity to spice up InterPodAffinity.
	for k := range pick(3) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bare-%d", k), UID: types.UID(fmt.Sprintf("%s-bare-%d", ns, k)), Labels: map[string]string{"role": "db"}},
			Spec: corev1.PodSpec{NodeName: c.nodes[pick(nNodes-4)].Name, Containers: []corev1.Container{{Name: "db", Image: "db:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if chance(0.5) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app0"}}, TopologyKey: corev1.LabelHostname}}}}
		}
		c.pods = append(c.pods, p)
	}

	// RebalancerNodeClassFit's table: readings, classification, NodeClass weights and profiles.
	tbl := &placement.Table{Nodes: map[string]*scoring.PlacementNode{}, Owners: map[types.UID]scoring.Resources{}, Weights: scoring.Weights{CPU: 0.3 + 0.4*rng.Float64(), Memory: 0}}
	tbl.Weights.Memory = 1 - tbl.Weights.CPU
	armWeight := float64(pick(101)) / 100 // the arm64 NodeClass's weight
	for _, n := range c.nodes {
		if chance(0.1) && !empty[n.Name] {
			continue // no reading: scored on requests
		}
		a, _ := scoring.NodeAllocatable(n)
		capacity := scoring.Resources{CPU: float64(a.MilliCPU), Memory: float64(a.Memory)}
		u, um := rng.Float64(), rng.Float64()
		if empty[n.Name] {
			u, um = 0.02, 0.05
		}
		pn := &scoring.PlacementNode{Capacity: capacity, Usage: scoring.Resources{CPU: u * capacity.CPU, Memory: um * capacity.Memory},
			ClassWeight: scoring.NoClassWeight}
		if n.Labels[corev1.LabelArchStable] == "arm64" {
			pn.ClassWeight, pn.Profiles = armWeight, scoring.ProfileSet(0).With(scoring.ProfileBalanced)
		}
		pn.Hot = u > 0.85
		pn.Cold = !pn.Hot && u < 0.3
		tbl.Nodes[n.Name] = pn
	}
	for r := range nRS {
		if chance(0.7) {
			tbl.Owners[types.UID(fmt.Sprintf("%s-rs-%d", ns, r))] = scoring.Resources{CPU: float64(50 + pick(1500)), Memory: float64(pick(2 << 30))}
		}
	}
	c.table = func() *placement.Table { return tbl }

	// The candidate, then moves made earlier in the plan (of other pods).
	var owned []*corev1.Pod
	for _, p := range c.pods {
		if len(p.OwnerReferences) > 0 {
			owned = append(owned, p)
		}
	}
	c.candidate = owned[pick(len(owned))]
	for range pick(3) {
		p := c.pods[pick(len(c.pods))]
		if p == c.candidate || len(p.Spec.Containers[0].Ports) > 0 || slices.ContainsFunc(c.moves, func(m move) bool { return m.pod == p }) {
			continue // (a pod with a host port is moved only where the port is free: not modelled here)
		}
		c.moves = append(c.moves, move{pod: p, to: c.nodes[pick(nNodes)].Name})
	}
	return c
}

// randomSpec is a workload's pod spec with some of everything the default plugins read.
func randomSpec(rng *rand.Rand, app string, hostPort int32) corev1.PodSpec {
	pick := rng.IntN
	chance := func(p float64) bool { return rng.Float64() < p }
	spec := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "app", Image: []string{"registry.example/app:1", "registry.example/other:2"}[pick(2)],
			Env: []corev1.EnvVar{{Name: "MODE", Value: "x"}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse([]string{"0", "100m", "250m", "1", "3"}[pick(5)]),
			}},
		}},
		Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
	if chance(0.8) {
		spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse([]string{"128Mi", "1Gi", "3Gi"}[pick(3)])
	}
	if chance(0.5) {
		spec.SchedulerName = v1alpha1.SchedulerName
	} else {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	if chance(0.2) {
		spec.NodeSelector = map[string]string{corev1.LabelArchStable: "amd64"}
	}
	if chance(0.3) {
		spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule}}
	}
	if chance(0.25) {
		spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: int32(1 + pick(100)), Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}}
	}
	if chance(0.25) {
		if spec.Affinity == nil {
			spec.Affinity = &corev1.Affinity{}
		}
		spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: int32(1 + pick(100)), PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: corev1.LabelHostname}}}}
	}
	if chance(0.3) {
		when := corev1.ScheduleAnyway
		if chance(0.4) {
			when = corev1.DoNotSchedule
		}
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: int32(1 + pick(2)), TopologyKey: corev1.LabelTopologyZone,
			WhenUnsatisfiable: when, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	}
	if chance(0.1) {
		spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: hostPort, Protocol: corev1.ProtocolTCP}}
	}
	return spec
}

// run predicts the candidate's replacement with the engine as the planner does (compact pods,
// moves applied in the session) and with the reference from the full objects after the moves,
// and returns the hand-written model's pick for the record.
func (c *randomCluster) run(ctx context.Context, t *testing.T, engine *placement.Engine, ref *reference) (placement.Prediction, refResult, string) {
	t.Helper()
	compact := planner.NewPods(c.pods)
	byUID := map[types.UID]*planner.Pod{}
	sched := make([]placement.Pod, len(compact))
	for i, p := range compact {
		byUID[p.UID] = p
		sched[i] = p
	}
	sess, err := engine.Open(c.nodes, sched, c.table())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	after := slices.Clone(c.pods)
	for _, m := range c.moves {
		p := byUID[m.pod.UID]
		if err := sess.Move(ctx, p.SchedulingPod(), p.Replacement(), m.to); err != nil {
			t.Fatal(err)
		}
		r := m.pod.DeepCopy()
		r.Name, r.UID, r.Spec.NodeName = m.pod.Name+"-replacement", m.pod.UID+"-replacement", m.to
		after = slices.DeleteFunc(after, func(x *corev1.Pod) bool { return x == m.pod })
		after = append(after, r)
	}
	cand := byUID[c.candidate.UID]
	if c.evicting() {
		// As the planner predicts: the evicted pod is terminating on its node while its
		// replacement is placed (its requests held, skipped by the plugins that skip
		// terminating pods).
		at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		restore, err := sess.Evicting(ctx, cand.SchedulingPod(), at)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := restore(); err != nil {
				t.Error(err)
			}
		}()
		term := c.candidate.DeepCopy()
		term.DeletionTimestamp = &metav1.Time{Time: at}
		after = slices.DeleteFunc(after, func(x *corev1.Pod) bool { return x == c.candidate })
		after = append(after, term)
	}
	got, err := sess.Predict(ctx, cand.Replacement())
	if err != nil {
		t.Fatal(err)
	}
	repl := c.candidate.DeepCopy()
	repl.Name, repl.UID, repl.Spec.NodeName = c.candidate.Name+"-replacement", c.candidate.UID+"-replacement", ""
	repl.Status = corev1.PodStatus{Phase: corev1.PodPending}
	want := ref.place(ctx, t, after, c.nodes, repl, c.table())
	return got, want, c.handModel(after, repl)
}

// evicting reports whether the cluster's candidate is predicted as the planner predicts an
// eviction's replacement (Session.Evicting: the candidate terminating on its node): every other
// cluster, so both ways are compared with the upstream framework.
func (c *randomCluster) evicting() bool { return c.seed%2 == 1 }

// handModel is the node the models this engine replaced would pick: scoring.DefaultSchedulerScore
// over requests for the default scheduler, scoring.PlacementScore alone for ours, among the nodes
// the reference finds feasible-looking by requests alone (the models' own filter).
func (c *randomCluster) handModel(pods []*corev1.Pod, pod *corev1.Pod) string {
	requested := map[string]scoring.Requests{}
	for _, p := range pods {
		requested[p.Spec.NodeName] = requested[p.Spec.NodeName].Add(scoring.PodRequests(p).NonZero())
	}
	view := planner.NewPod(pod)
	tbl := c.table()
	best, bestScore := "", int64(-1)
	for _, n := range c.nodes {
		alloc, maxPods := scoring.NodeAllocatable(n)
		load := scoring.NodeLoad{Requested: requested[n.Name], Allocatable: alloc, MaxPods: maxPods}
		if view.Constraints.Feasible(n, load, view.Requests) != "" {
			continue
		}
		var s int64
		if pod.Spec.SchedulerName == v1alpha1.SchedulerName {
			pn := tbl.Nodes[n.Name]
			if pn == nil {
				continue
			}
			s = scoring.PlacementScore(pn, &scoring.PlacementPod{Usage: placement.ExpectedUsage(tbl.Owners, pod), Profile: placement.PodProfile(pod)}, tbl.Weights, scoring.DefaultPlacementWeights)
		} else {
			s = scoring.DefaultSchedulerScore(requested[n.Name], view.Requests.NonZero(), alloc)
		}
		if s > bestScore {
			best, bestScore = n.Name, s
		}
	}
	return best
}
