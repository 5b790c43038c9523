// Package metrics defines every Prometheus metric the Rebalancer exports, for both programs. Names
// are part of the product: never rename one without a deprecation period. Each binary registers
// the set it uses into the registry it serves (controller-runtime's for the evictor, the
// component-base registry for the scheduler); nothing here is registered globally.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinorodney/rebalancer/pkg/version"
)

// Label names.
const (
	LabelNode           = "node"
	LabelResource       = "resource"
	LabelNamespace      = "namespace"
	LabelReason         = "reason"
	LabelPolicy         = "policy"
	LabelClassification = "classification"
	LabelCode           = "code"
	LabelNodeClass      = "nodeclass"
	LabelScheduler      = "scheduler"
	LabelOutcome        = "outcome"
	LabelVersion        = "version"
	LabelRevision       = "revision"
	LabelGoVersion      = "goversion"
)

// Values of the outcome label of the placement-predictions metric.
const (
	// OutcomeExact: the replacement landed on a node of the set the evictor predicted.
	OutcomeExact = "exact"
	// OutcomeCold, OutcomeNotHot, OutcomeHot: it landed elsewhere, on a node that was cold,
	// normal or hot when the eviction was planned.
	OutcomeCold   = "cold"
	OutcomeNotHot = "notHot"
	OutcomeHot    = "hot"
	// OutcomeUnscheduled: no replacement was running on a node within the follow window.
	OutcomeUnscheduled = "unscheduled"
)

// Values of the resource label.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	// ResourceScore is the weighted score of both.
	ResourceScore = "score"
)

// Metric names.
const (
	NodeUtilizationName      = "rebalancer_node_utilization"
	SigmaName                = "rebalancer_sigma"
	EvictionsName            = "rebalancer_evictions_total"
	DryRunEvictionsName      = "rebalancer_dry_run_evictions_total"
	BudgetRemainingName      = "rebalancer_budget_remaining"
	NodeClassificationName   = "rebalancer_node_classification"
	PlanDurationName         = "rebalancer_plan_duration_seconds"
	CycleDurationName        = "rebalancer_cycle_duration_seconds"
	EvictionResponsesName    = "rebalancer_eviction_api_responses_total"
	SkippedCandidatesName    = "rebalancer_skipped_candidates_total"
	LowerBoundName           = "rebalancer_plan_lower_bound"
	PlacementsName           = "rebalancer_scheduler_placements_total"
	ScoreDurationName        = "rebalancer_scheduler_score_duration_seconds"
	UsageSourceErrorsName    = "rebalancer_usage_source_errors_total"
	ReplacementOutcomesName  = "rebalancer_replacement_outcomes_total"
	PlannedMovesName         = "rebalancer_planned_moves"
	PlacementPredictionsName = "rebalancer_placement_predictions_total"
	ExcludedNodesName        = "rebalancer_excluded_nodes"
	PlanStoppedByName        = "rebalancer_plan_stopped_by"
	BuildInfoName            = "rebalancer_build_info"
)

// NewBuildInfo is rebalancer_build_info: 1, labelled with the build's version, VCS revision and
// Go version (pkg/version). Both programs serve it.
func NewBuildInfo() prometheus.Collector {
	info := version.Get()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: BuildInfoName,
		Help: "1 for the running build. Labels: version and revision stamped at link time (pkg/version), goversion the Go release it was built with."},
		[]string{LabelVersion, LabelRevision, LabelGoVersion})
	g.WithLabelValues(info.Version, info.Revision, info.GoVersion).Set(1)
	return g
}

// Evictor holds the evictor's metrics.
type Evictor struct {
	NodeUtilization      *prometheus.GaugeVec
	Sigma                *prometheus.GaugeVec
	Evictions            *prometheus.CounterVec
	DryRunEvictions      prometheus.Counter
	BudgetRemaining      *prometheus.GaugeVec
	NodeClassification   *prometheus.GaugeVec
	PlanDuration         prometheus.Histogram
	CycleDuration        prometheus.Histogram
	EvictionResponses    *prometheus.CounterVec
	SkippedCandidates    *prometheus.CounterVec
	LowerBound           *prometheus.GaugeVec
	PlannedMoves         *prometheus.GaugeVec
	UsageSourceErrors    prometheus.Counter
	ReplacementOutcomes  *prometheus.CounterVec
	PlacementPredictions *prometheus.CounterVec
	ExcludedNodes        *prometheus.GaugeVec
	PlanStoppedBy        *prometheus.GaugeVec
	BuildInfo            prometheus.Collector
}

// NewEvictor creates the evictor's metrics, unregistered.
func NewEvictor() *Evictor {
	return &Evictor{
		NodeUtilization: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NodeUtilizationName,
			Help: "Utilisation of a node from the last usage reading, as a fraction of allocatable (CPU in reference cores). Labels: node; resource is cpu, memory or score (their weighted mean)."},
			[]string{LabelNode, LabelResource}),
		Sigma: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: SigmaName,
			Help: "Standard deviation of node utilisation scores over the nodes a RebalancePolicy balances, after the last cycle's reading; 0 is perfectly balanced. Label: policy."},
			[]string{LabelPolicy}),
		Evictions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: EvictionsName,
			Help: "Pods evicted by the evictor. Labels: namespace of the pod; reason the move was made (LowersSigma)."},
			[]string{LabelNamespace, LabelReason}),
		DryRunEvictions: prometheus.NewCounter(prometheus.CounterOpts{Name: DryRunEvictionsName,
			Help: "Evictions a dry-run policy would have made (nothing was evicted)."}),
		BudgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: BudgetRemainingName,
			Help: "Disruptions the policy's namespace budget still allows this hour; -1 means the namespace has no budget (unlimited). Label: namespace."},
			[]string{LabelNamespace}),
		NodeClassification: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NodeClassificationName,
			Help: "1 for a node's current classification, 0 for the others. Labels: node; classification is hot, cold or normal."},
			[]string{LabelNode, LabelClassification}),
		PlanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: PlanDurationName,
			Help:    "Time to compute one plan, in seconds.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		CycleDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: CycleDurationName,
			Help:    "Time of one whole cycle of a policy, in seconds: reading the caches and the usage source, following earlier evictions, planning, evicting and writing statuses.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		EvictionResponses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: EvictionResponsesName,
			Help: "Responses of the eviction API to the evictor. Label: code, the HTTP status (201, 429, 404, 409, 500, ...)."},
			[]string{LabelCode}),
		SkippedCandidates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: SkippedCandidatesName,
			Help: "Candidates on hot nodes held back in a cycle, per reason (a candidate counts once per reason). Label: reason code."},
			[]string{LabelReason}),
		LowerBound: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: LowerBoundName,
			Help: "Fewest evictions that could make every hot node stop being hot (bring it under its hot threshold minus the hysteresis margin), from the last plan. Label: policy."},
			[]string{LabelPolicy}),
		PlannedMoves: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: PlannedMovesName,
			Help: "Moves chosen by the last plan. Label: policy."},
			[]string{LabelPolicy}),
		UsageSourceErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: UsageSourceErrorsName,
			Help: "Failed reads of the usage source (metrics-server or Prometheus)."}),
		ReplacementOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ReplacementOutcomesName,
			Help: "What happened after an eviction. Label: reason is Cooled (the node went under its threshold), CameBack (the replacement landed on the node it left) or NotCooled."},
			[]string{LabelReason}),
		PlacementPredictions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: PlacementPredictionsName,
			Help: "Where the replacement of an evicted pod landed against where the evictor predicted it would. Labels: scheduler that placed it; outcome is exact (a node of the predicted set), cold, notHot or hot (another node, by its class when the eviction was planned) or unscheduled (no replacement running within the follow window)."},
			[]string{LabelScheduler, LabelOutcome}),
		ExcludedNodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: ExcludedNodesName,
			Help: "Nodes a RebalancePolicy selects but left out of its last cycle. Labels: policy; reason is NoReading (no usage reading), StaleReading (older than staleAfter) or OwnedByOlderPolicy."},
			[]string{LabelPolicy, LabelReason}),
		PlanStoppedBy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: PlanStoppedByName,
			Help: "1 for what kept the last plan from doing more (status.lastPlan.stoppedBy), one series per policy: NothingHot, CycleLimit, HourlyLimit, ConfirmationLimit, UncertainDestination, Budget, Backoff, NoColdDestination, OutsideDisruptionWindow, the reason of a false condition, or the reason that held back the most candidates. Labels: policy, reason."},
			[]string{LabelPolicy, LabelReason}),
		BuildInfo: NewBuildInfo(),
	}
}

// Collectors lists every evictor metric, for registration.
func (m *Evictor) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.NodeUtilization, m.Sigma, m.Evictions, m.DryRunEvictions, m.BudgetRemaining,
		m.NodeClassification, m.PlanDuration, m.CycleDuration, m.EvictionResponses, m.SkippedCandidates, m.LowerBound, m.PlannedMoves,
		m.UsageSourceErrors, m.ReplacementOutcomes, m.PlacementPredictions, m.ExcludedNodes, m.PlanStoppedBy, m.BuildInfo}
}

// Register registers every evictor metric.
func (m *Evictor) Register(r prometheus.Registerer) error {
	for _, c := range m.Collectors() {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Scheduler holds the scheduler plugin's metrics.
type Scheduler struct {
	Placements    *prometheus.CounterVec
	ScoreDuration prometheus.Histogram
	BuildInfo     prometheus.Collector
}

// NewScheduler creates the scheduler plugin's metrics, unregistered.
func NewScheduler() *Scheduler {
	return &Scheduler{
		Placements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: PlacementsName,
			Help: "Pods the Rebalancer's scheduler bound. Labels: nodeclass of the chosen node (empty for none); classification of the node (hot, cold, normal) at the time."},
			[]string{LabelNodeClass, LabelClassification}),
		ScoreDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: ScoreDurationName,
			Help:    "Time the Score extension point of the Rebalancer plugin spends per node, in seconds.",
			Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10)}),
		BuildInfo: NewBuildInfo(),
	}
}

// Collectors lists every scheduler metric, for registration.
func (m *Scheduler) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Placements, m.ScoreDuration, m.BuildInfo}
}

// Names lists every metric name this package defines (for checks that dashboards use real names).
func Names() []string {
	return []string{NodeUtilizationName, SigmaName, EvictionsName, DryRunEvictionsName, BudgetRemainingName,
		NodeClassificationName, PlanDurationName, CycleDurationName, EvictionResponsesName, SkippedCandidatesName, LowerBoundName,
		PlacementsName, ScoreDurationName, UsageSourceErrorsName, ReplacementOutcomesName, PlannedMovesName, PlacementPredictionsName, ExcludedNodesName, BuildInfoName}
}
