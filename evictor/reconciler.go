package evictor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// +kubebuilder:rbac:groups=rebalancer.atarnet.org,resources=rebalancepolicies;workloadslos;nodeclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=rebalancer.atarnet.org,resources=rebalancepolicies/status;workloadslos/status;nodeclasses/status,verbs=update
// +kubebuilder:rbac:groups="",resources=nodes;pods;namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch
// +kubebuilder:rbac:groups=scheduling.k8s.io,resources=priorityclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=metrics.k8s.io,resources=nodes;pods,verbs=get;list
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler runs one rebalancing loop per RebalancePolicy, on the policy's interval.
type Reconciler struct {
	// Client reads from the informer caches and writes status.
	Client client.Client
	// APIReader reads straight from the API server, for the checks right before an eviction.
	APIReader client.Reader
	// Pods are the cluster's pods. SetupWithManager makes a PodStore when it is nil.
	Pods PodLister
	// Live evicts; DryRun only counts. A policy in dry-run only ever reaches DryRun.
	Live     Executor
	DryRun   Executor
	Recorder events.EventRecorder
	Sources  SourceFactory
	Metrics  *metrics.Evictor
	Clock    clock.Clock
	// Observers see every cycle (the dashboard's history).
	Observers []Observer
	// FollowWindow is how long the node a pod was evicted from has to cool before the eviction
	// counts as wasted and the workload is backed off. Defaults to 3 intervals.
	FollowWindow time.Duration
	// ReplacementWait bounds how long a cycle whose moves land where the scheduler's scores send
	// them waits for each evicted pod's replacement to be bound before it evicts the next one
	// (callEvictions). Defaults to DefaultReplacementWait; negative: it does not wait (the evictor
	// sets it from --replacement-wait, where 0 means no wait).
	ReplacementWait time.Duration
	// SourceTimeout bounds one usage read. Defaults to 30s.
	SourceTimeout time.Duration
	// Placement confirms every planned move with the real scheduler framework of the pod's
	// scheduler (pkg/placement). Nil plans with the fast model alone, for narrow tests.
	Placement *placement.Engine
	// SchedulerLeases are the leader Leases of the schedulers the evictor must see running before
	// it evicts a pod they place (by scheduler name); none: not checked.
	SchedulerLeases map[string]types.NamespacedName
	// PlacementSynced, when set, holds planning back until the engine's listers have synced.
	PlacementSynced func() bool

	states states
	scores nodeScores
}

// Observer receives each cycle's outcome.
type Observer interface {
	ObserveCycle(c Cycle)
}

// Cycle is one policy cycle: the plan and what became of each move.
type Cycle struct {
	Policy     string
	Time       time.Time
	DryRun     bool
	Result     planner.Result
	Outcomes   []MoveOutcome
	Conditions []metav1.Condition
	SLOs       []v1alpha1.WorkloadSLO
	Budgets    map[string]int // namespace -> remaining this hour, -1 unlimited
	// Status is the policy's status as written at the end of the cycle.
	Status v1alpha1.RebalancePolicyStatus
	// Followups are evictions of earlier cycles whose outcome became known in this one.
	Followups []Followup
}

// MoveOutcome is a planned move and what happened to it.
type MoveOutcome struct {
	Move    planner.Move
	Outcome Outcome
	Detail  string
}

// SetupWithManager registers the controller: a policy is reconciled when its spec changes and
// then every interval. Informers for every kind the snapshot reads are registered here, so the
// first cycle waits for all of them to sync.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Pods == nil {
		store, err := NewPodStoreForConfig(mgr.GetConfig())
		if err != nil {
			return err
		}
		if err := mgr.Add(store); err != nil {
			return fmt.Errorf("adding the pod store: %w", err)
		}
		r.Pods = store
	}
	for _, obj := range []client.Object{&corev1.Node{}, &policyv1.PodDisruptionBudget{}, &corev1.Namespace{},
		&schedulingv1.PriorityClass{}, &v1alpha1.NodeClass{}, &v1alpha1.WorkloadSLO{}} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("starting informer for %T: %w", obj, err)
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RebalancePolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("rebalancepolicy").
		Complete(r)
}

// Reconcile runs one cycle for the policy and schedules the next.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	var p v1alpha1.RebalancePolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetMetrics(req.Name, r.states.forget(req.Name))
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if p.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	interval := v1alpha1.Duration(p.Spec.Interval, v1alpha1.DefaultInterval)
	now := r.Clock.Now()
	// A cycle started by something other than a spec change waits out the interval.
	if last := p.Status.LastCycleTime; last != nil && p.Status.ObservedGeneration == p.Generation {
		if wait := last.Add(interval).Sub(now); wait > time.Second {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}

	st := r.states.get(p.Name)
	if wait := st.waitFor(p.Generation, interval, now); wait > time.Second {
		return ctrl.Result{RequeueAfter: wait}, nil
	}

	if !r.Pods.HasSynced() {
		logger.V(1).Info("Waiting for the pod cache to sync")
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if r.PlacementSynced != nil && !r.PlacementSynced() {
		logger.V(1).Info("Waiting for the placement engine's listers to sync")
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	cycleStart := r.Clock.Now()
	defer func() { r.Metrics.CycleDuration.Observe(r.Clock.Since(cycleStart).Seconds()) }()
	cl, err := readCacheView(ctx, r.Client, r.Pods)
	if err != nil {
		return ctrl.Result{}, err
	}
	st.lastCycle, st.generation = now, p.Generation
	followups := r.follow(ctx, &p, cl, st, now)
	cacheSeconds := r.Clock.Since(cycleStart).Seconds()

	snap := cl.snap
	snap.ExcludedNodes = ownedElsewhere(&p, validPolicies(cl.policies, snap.PriorityClasses), snap.Nodes)
	facts := cycleFacts{dryRun: ptr.Deref(p.Spec.DryRun, v1alpha1.DefaultDryRun), ownedByOlder: len(snap.ExcludedNodes)}

	readStart := r.Clock.Now()
	readings, usageCond := r.read(ctx, &p)
	readSeconds := r.Clock.Since(readStart).Seconds()
	facts.usage = usageCond
	cycle := Cycle{Policy: p.Name, Time: now, Followups: followups}
	if usageCond.Status != metav1.ConditionTrue {
		// Fail closed: without readings, plan nothing and evict nothing.
		logger.Info("Usage unavailable, evicting nothing", "reason", usageCond.Reason, "message", usageCond.Message)
		conds := cycleConditions(facts)
		cycle.Conditions = conds
		status, err := r.writePolicyStatus(ctx, &p, nil, conds, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		cycle.Status = status
		r.observe(cycle)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	snap.Usage = toPlannerUsage(readings)
	snap.Placement = r.Placement
	snap.SchedulersDown = r.schedulersDown(ctx, now)

	start := r.Clock.Now()
	res := planner.Plan(snap, &p, cl.slos, st.plan, now)
	planSeconds := r.Clock.Since(start).Seconds()
	r.Metrics.PlanDuration.Observe(planSeconds)
	st.plan = res.State
	cycle.Result, cycle.DryRun = res, res.DryRun

	facts.result = &res
	conds := cycleConditions(facts)
	evictStart := r.Clock.Now()
	if len(res.Blockers) == 0 {
		cycle.Outcomes = r.execute(ctx, &p, cl, st, &res, now)
		r.reportHeldBack(&p, cl, st, &res)
	} else {
		for _, b := range res.Blockers {
			r.Recorder.Eventf(&p, nil, corev1.EventTypeWarning, b.Reason, "Plan", "Evicting nothing: %s", b.Message)
		}
	}
	evictSeconds := r.Clock.Since(evictStart).Seconds()
	r.recordMetrics(&p, &res)
	cycle.Conditions = conds
	statusStart := r.Clock.Now()
	if err := r.writeStatuses(ctx, &p, cl, st, &res, &cycle, now); err != nil {
		return ctrl.Result{}, err
	}
	statusSeconds := r.Clock.Since(statusStart).Seconds()
	r.observe(cycle)
	// Where the cycle's time went: caches and follow-ups, the usage read, the plan, the evictions
	// (with their fresh checks), the status writes.
	logger.V(1).Info("Cycle done", "sigma", res.SigmaBefore, "hot", res.HotNodes, "cold", res.ColdNodes,
		"moves", len(res.Moves), "heldBack", len(res.HeldBack), "lowerBound", res.LowerBound, "dryRun", res.DryRun,
		"cacheSeconds", cacheSeconds, "readSeconds", readSeconds, "planSeconds", planSeconds, "evictSeconds", evictSeconds,
		"statusSeconds", statusSeconds, "cycleSeconds", r.Clock.Since(cycleStart).Seconds())
	return ctrl.Result{RequeueAfter: interval}, nil
}

// writeStatuses writes the cycle into the status of the policy, its WorkloadSLOs and the
// NodeClasses, and records what it wrote in the cycle for the observers.
func (r *Reconciler) writeStatuses(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cacheView, st *policyState, res *planner.Result, cycle *Cycle, now time.Time) error {
	status, err := r.writePolicyStatus(ctx, p, res, cycle.Conditions, now)
	if err != nil {
		return err
	}
	cycle.Status = status
	if cycle.SLOs, err = r.writeSLOStatus(ctx, cl, st, res, now); err != nil {
		return err
	}
	cycle.Budgets = planner.NamespaceBudgetsLeft(p, res)
	return r.writeNodeClassStatus(ctx, cl, res)
}

func (r *Reconciler) observe(c Cycle) {
	for _, o := range r.Observers {
		o.ObserveCycle(c)
	}
}

// read reads usage for the policy and says, as the MetricsAvailable condition, whether it can be
// used.
func (r *Reconciler) read(ctx context.Context, p *v1alpha1.RebalancePolicy) (usage.Readings, metav1.Condition) {
	src, err := r.Sources.SourceFor(p)
	if err != nil {
		return usage.Readings{}, condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, v1alpha1.ReasonNoPrometheusAddress, err.Error())
	}
	timeout := r.SourceTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	readings, err := src.Read(rctx)
	if err != nil {
		r.Metrics.UsageSourceErrors.Inc()
		reason := v1alpha1.ReasonSourceUnavailable
		if p.Spec.Metrics != nil && p.Spec.Metrics.Source == v1alpha1.UsageSourcePrometheus {
			reason = v1alpha1.ReasonPrometheusUnreachable
		}
		return usage.Readings{}, condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, reason,
			fmt.Sprintf("reading usage failed, nothing is evicted: %v", err))
	}
	return readings, condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, v1alpha1.ReasonMetricsFresh, "usage readings are available")
}

func toPlannerUsage(u usage.Readings) planner.Usage {
	out := planner.Usage{Nodes: make(map[string]planner.Sample, len(u.Nodes)), Pods: make(map[types.NamespacedName]planner.Sample, len(u.Pods))}
	for k, s := range u.Nodes {
		out.Nodes[k] = planner.Sample{MilliCPU: s.MilliCPU, Memory: s.Memory, Time: s.Time}
	}
	for k, s := range u.Pods {
		out.Pods[k] = planner.Sample{MilliCPU: s.MilliCPU, Memory: s.Memory, Time: s.Time}
	}
	return out
}

// planConditions turns a plan into ConfigValid, MetricsAvailable (refined), DryRun and Ready.
