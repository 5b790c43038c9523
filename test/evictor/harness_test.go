package evictor_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor"
	"github.com/tinorodney/rebalancer/evictor/dashboard"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// source is a usage source the test changes while the evictor runs.
type source struct {
	mu  sync.Mutex
	r   usage.Readings
	err error
	// delay is how long a read takes to answer (a lagging metrics-server); a read given up by its
	// caller ends then.
	delay time.Duration
}

func newSource() *source {
	return &source{r: usage.Readings{Nodes: map[string]usage.Sample{}, Pods: map[types.NamespacedName]usage.Sample{}}}
}

func (s *source) Read(ctx context.Context) (usage.Readings, error) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return usage.Readings{}, fmt.Errorf("reading usage: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := usage.Readings{Nodes: map[string]usage.Sample{}, Pods: map[types.NamespacedName]usage.Sample{}}
	for k, v := range s.r.Nodes {
		out.Nodes[k] = v
	}
	for k, v := range s.r.Pods {
		out.Pods[k] = v
	}
	return out, s.err
}

func (s *source) node(name string, milliCPU, memGi float64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Nodes[name] = usage.Sample{MilliCPU: milliCPU, Memory: memGi * (1 << 30), Time: at}
}

// drop removes a node's reading: the usage source reports nothing for it.
func (s *source) drop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.r.Nodes, name)
}

func (s *source) pod(ns, name string, milliCPU, memGi float64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.r.Pods[types.NamespacedName{Namespace: ns, Name: name}] = usage.Sample{MilliCPU: milliCPU, Memory: memGi * (1 << 30), Time: at}
}

// stamp dates every reading at (a metrics-server whose readings lag shows old timestamps).
func (s *source) stamp(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.r.Nodes {
		v.Time = at
		s.r.Nodes[k] = v
	}
	for k, v := range s.r.Pods {
		v.Time = at
		s.r.Pods[k] = v
	}
}

// answerAfter makes every read take d to answer (0: at once).
func (s *source) answerAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *source) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// sourceFor serves the test source for every policy, or a real Prometheus source for policies
// that ask for one.
type sourceFor struct {
	src  *source
	real *evictor.Sources
}

func (f sourceFor) SourceFor(p *v1alpha1.RebalancePolicy) (usage.Source, error) {
	if p.Spec.Metrics != nil && p.Spec.Metrics.Source == v1alpha1.UsageSourcePrometheus {
		return f.real.SourceFor(p)
	}
	return f.src, nil
}

// instance is one running evictor.
type instance struct {
	metrics *metrics.Evictor
	cancel  context.CancelFunc
	done    chan error
	// elected is closed once the instance leads.
	elected <-chan struct{}
}

type options struct {
	leaderElect bool
	identity    string
	// metricsAddr, when set, serves /metrics and the dashboard there, as the binary does.
	metricsAddr string
	// pod, when set, is the pod the instance runs in: with leaderElect, the Lease's holder names
	// it and a standby's dashboard asks the leader's pod, as the binary does given POD_NAME and
	// POD_NAMESPACE.
	pod types.NamespacedName
	// schedulerLease, when set, is the Rebalancer scheduler's leader Lease (--scheduler-lease).
	schedulerLease string
	// clock, when set, is the evictor's clock (the real one otherwise).
	clock clock.Clock
	// config, when set, is how the instance reaches the API server (env.Config otherwise).
	config *rest.Config
	// evicter, when set, wraps the eviction call.
	evicter func(evictor.PodEvicter) evictor.PodEvicter
	// sourceTimeout, when set, bounds one usage read (Reconciler.SourceTimeout).
	sourceTimeout time.Duration
}

func startEvictor(t *testing.T, src *source, o options) *instance {
	t.Helper()
	m := metrics.NewEvictor()
	history := dashboard.NewHistory()
	cfg := env.Config
	if o.config != nil {
		cfg = o.config
	}
	lease := types.NamespacedName{Namespace: "default", Name: "rebalancer-evictor-test"}
	leader := &evictor.LeaseLeader{Lease: lease, PodNamespace: o.pod.Namespace, PortName: "http-metrics", Scheme: "http"}
	metricsOpts := metricsserver.Options{BindAddress: "0"}
	if o.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		if err := m.Register(reg); err != nil {
			t.Fatal(err)
		}
		pages := dashboard.Handler(history)
		if o.leaderElect && o.pod.Name != "" {
			pages = dashboard.FollowLeader(pages, leader, dashboard.Forwarding{})
		}
		metricsOpts = metricsserver.Options{BindAddress: o.metricsAddr, ExtraHandlers: map[string]http.Handler{}}
		for _, p := range dashboard.Paths {
			metricsOpts.ExtraHandlers[p] = pages
		}
		// Serve this instance's registry on /metrics, as the binary serves controller-runtime's.
		metricsOpts.ExtraHandlers["/instance-metrics"] = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	opts := ctrl.Options{
		Scheme:                        env.Scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        "0",
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              lease.Name,
		LeaderElectionNamespace:       lease.Namespace,
		LeaseDuration:                 ptr.To(4 * time.Second),
		RenewDeadline:                 ptr.To(3 * time.Second),
		RetryPeriod:                   ptr.To(500 * time.Millisecond),
		LeaderElectionReleaseOnCancel: true,
		Controller:                    config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                         evictor.CacheOptions(),
		Client:                        evictor.ClientOptions(),
	}
	if o.leaderElect && o.pod.Name != "" {
		// As the binary: the Lease's holder names the pod, so a standby finds the leader.
		lock, err := evictor.LeaderLock(cfg, lease, o.pod.Name, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		opts.LeaderElectionResourceLockInterface = lock
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	leader.Reader, leader.Elected = mgr.GetAPIReader(), mgr.Elected()
	r := &evictor.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Live:      evictor.Live{Evicter: evicterOf(o, mgr.GetClient()), Metrics: m},
		DryRun:    evictor.DryRun{Metrics: m},
		Recorder:  mgr.GetEventRecorder("rebalancer-evictor" + o.identity),
		Sources:   sourceFor{src: src, real: &evictor.Sources{Clock: clock.RealClock{}}},
		Metrics:   m,
		Clock:     clock.RealClock{},
		Observers: []evictor.Observer{history},

		SourceTimeout: o.sourceTimeout,
		// No controller runs here, so no evicted pod is ever replaced: the cycle does not wait for
		// replacements (test/e2e, with kube-controller-manager, does).
		ReplacementWait: -1,
	}
	if o.clock != nil {
		r.Clock = o.clock
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Moves are confirmed by the placement engine, reading the API server as the binary does.
	engine, err := evictor.NewPlacementEngine(ctx, cfg, "", "")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := mgr.Add(engine); err != nil {
		cancel()
		t.Fatal(err)
	}
	r.Placement, r.PlacementSynced = engine.Engine, engine.Synced
	if r.SchedulerLeases, err = evictor.SchedulerLeases(engine.Engine, o.schedulerLease); err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		cancel()
		t.Fatal(err)
	}
	in := &instance{metrics: m, cancel: cancel, done: make(chan error, 1), elected: mgr.Elected()}
	go func() { in.done <- mgr.Start(ctx) }()
	t.Cleanup(in.stop)
	return in
}

func evicterOf(o options, c client.Client) evictor.PodEvicter {
	var e evictor.PodEvicter = evictor.SubResourceEvicter{Client: c}
	if o.evicter != nil {
		e = o.evicter(e)
	}
	return e
}

func (in *instance) stop() {
	if in.cancel == nil {
		return
	}
	in.cancel()
	if err := <-in.done; err != nil {
		panic(fmt.Sprintf("evictor stopped with an error: %v", err))
	}
	in.cancel = nil
}

// scenario is one test's namespace, nodes and policy.
type scenario struct {
	t      *testing.T
	ns     string
	label  string
	src    *source
	now    time.Time
	policy *v1alpha1.RebalancePolicy
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(name, "-")
	s := &scenario{t: t, ns: name, label: name, src: newSource(), now: time.Now()}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	return s
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
}

// node creates a Ready node of 4 CPUs and 16Gi and gives it a usage reading.
func (s *scenario) node(name string, milliCPU, memGi float64) string {
	s.t.Helper()
	name = s.ns + "-" + name
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": s.label, corev1.LabelHostname: name}}}
	create(s.t, n)
	n.Status = corev1.NodeStatus{
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
		Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
	}
	if err := env.Client.Status().Update(context.Background(), n); err != nil {
		s.t.Fatal(err)
	}
	// The API server taints new nodes not-ready (TaintNodesByCondition); the node lifecycle
	// controller, which is not running here, would lift it once the node is Ready.
	n.Spec.Taints = nil
	if err := env.Client.Update(context.Background(), n); err != nil {
		s.t.Fatal(err)
	}
	s.src.node(name, milliCPU, memGi, s.now)
	return name
}

type podOpt func(*corev1.Pod)

func optIn(p *corev1.Pod) { p.Labels[v1alpha1.OptInLabelKey] = v1alpha1.OptInLabelValue }

// ours makes the pod one the Rebalancer's scheduler places.
func ours(p *corev1.Pod) { p.Spec.SchedulerName = v1alpha1.SchedulerName }

// replicaSet makes the pod a replica of the ReplicaSet name.
func replicaSet(name string) podOpt {
	return func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: types.UID("uid-" + name), Controller: ptr.To(true)}}
	}
}

// pod creates a Running, Ready pod bound to node, started an hour ago, using what it requests.
func (s *scenario) pod(name, node, app string, milliCPU int64, memMi int64, opts ...podOpt) {
	s.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: map[string]string{"app": app}},
		// The scenario's nodes are its cluster: other tests' nodes share the API server, and the
		// placement engine (like a scheduler) would otherwise consider them for replacements.
		Spec: corev1.PodSpec{NodeName: node, NodeSelector: map[string]string{"test": s.label}, Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: *resource.NewMilliQuantity(milliCPU, resource.DecimalSI), corev1.ResourceMemory: *resource.NewQuantity(memMi<<20, resource.BinarySI),
			}}}}},
	}
	for _, o := range opts {
		o(p)
	}
	create(s.t, p)
	started := metav1.NewTime(s.now.Add(-time.Hour))
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}}
	if err := env.Client.Status().Update(context.Background(), p); err != nil {
		s.t.Fatal(err)
	}
	s.src.pod(s.ns, name, float64(milliCPU), float64(memMi)/1024, s.now)
}

// createPolicy creates a live policy over this scenario's nodes and namespace, one reading to
// classify a node, generous rate limits; mod changes it first.
func (s *scenario) createPolicy(mod func(*v1alpha1.RebalancePolicySpec)) {
	s.t.Helper()
	p := &v1alpha1.RebalancePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns},
		Spec: v1alpha1.RebalancePolicySpec{
			DryRun:       ptr.To(false),
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"test": s.label}},
			Namespaces:   &v1alpha1.NamespaceFilter{Include: []string{s.ns}},
			Hysteresis:   &v1alpha1.Hysteresis{ConsecutiveReadings: 1},
			RateLimits:   &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](5), MaxEvictionsPerNodePerCycle: ptr.To[int32](5), MaxEvictionsPerHour: ptr.To[int32](20)},
			Interval:     &metav1.Duration{Duration: 10 * time.Second},
		},
	}
	if mod != nil {
		mod(&p.Spec)
	}
	create(s.t, p)
	s.policy = p
}

func (s *scenario) pdb(name string, match map[string]string, minAvailable int32) {
	s.t.Helper()
	create(s.t, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(minAvailable)), Selector: &metav1.LabelSelector{MatchLabels: match}},
	})
}

// waitPDB waits until the disruption controller has computed the budget's status.
func (s *scenario) waitPDB(name string, allowed int32) {
	s.t.Helper()
	s.eventually(fmt.Sprintf("PodDisruptionBudget %s computed with disruptionsAllowed %d", name, allowed), func() bool {
		var pdb policyv1.PodDisruptionBudget
		err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: name}, &pdb)
		return err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.ExpectedPods > 0 && pdb.Status.DisruptionsAllowed == allowed
	})
}

func (s *scenario) eventually(what string, cond func() bool) {
	s.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 90*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		if s.policy != nil {
			p := s.policyNow()
			s.t.Logf("policy status: %+v", p.Status.LastPlan)
			for _, c := range p.Status.Conditions {
				s.t.Logf("condition %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		s.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// policyStatus reads the policy.
func (s *scenario) policyNow() *v1alpha1.RebalancePolicy {
	var p v1alpha1.RebalancePolicy
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(s.policy), &p); err != nil {
		s.t.Fatal(err)
	}
	return &p
}

// waitCycles waits until the policy has finished n cycles after since.
func (s *scenario) waitCycle(after time.Time) *v1alpha1.RebalancePolicy {
	s.t.Helper()
	var p *v1alpha1.RebalancePolicy
	s.eventually("a policy cycle", func() bool {
		p = s.policyNow()
		return p.Status.LastCycleTime != nil && !p.Status.LastCycleTime.Time.Before(after.Truncate(time.Second))
	})
	return p
}

// evicted reports whether the pod was evicted: gone, or terminating (no kubelet finishes it).
func (s *scenario) evicted(name string) bool {
	var p corev1.Pod
	err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: name}, &p)
	return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
}

func (s *scenario) evictedCount(names ...string) int {
	n := 0
	for _, name := range names {
		if s.evicted(name) {
			n++
		}
	}
	return n
}

// events returns the notes of events with the reason, regarding objects in the namespace (or
// cluster-scoped ones when ns is empty).
func eventsWithReason(ns, reason string) []string {
	var l eventsv1.EventList
	if err := env.Client.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
		return nil
	}
	var out []string
	for _, e := range l.Items {
		if e.Reason == reason {
			out = append(out, e.Regarding.Name+": "+e.Note)
		}
	}
	return out
}
