package planner

// Why a candidate is held back. Budget codes produce messages containing "budget exhausted".
const (
	ReasonNotOptedIn          ReasonCode = "NotOptedIn"
	ReasonDaemonSet           ReasonCode = "DaemonSet"
	ReasonMirrorPod           ReasonCode = "MirrorPod"
	ReasonNotRunning          ReasonCode = "NotRunning"
	ReasonSystemCritical      ReasonCode = "SystemCritical"
	ReasonHighPriority        ReasonCode = "HighPriority"
	ReasonLocalStorage        ReasonCode = "LocalStorage"
	ReasonPinned              ReasonCode = "Pinned"
	ReasonBarePod             ReasonCode = "BarePod"
	ReasonSingleReplica       ReasonCode = "SingleReplica"
	ReasonMinAvailable        ReasonCode = "MinAvailable"
	ReasonStateful            ReasonCode = "Stateful"
	ReasonTooYoung            ReasonCode = "TooYoung"
	ReasonBackoff             ReasonCode = "Backoff"
	ReasonSLOBudget           ReasonCode = "SLOBudgetExhausted"
	ReasonReadinessWindow     ReasonCode = "ReadinessWindow"
	ReasonNamespaceBudget     ReasonCode = "NamespaceBudgetExhausted"
	ReasonPDBNoDisruptions    ReasonCode = "PDBAllowsNoDisruption"
	ReasonMultiplePDBs        ReasonCode = "MultiplePDBs"
	ReasonNoDestination       ReasonCode = "NoFeasibleDestination"
	ReasonLandsOnSameNode     ReasonCode = "LandsOnSameNode"
	ReasonLandsOnHotNode      ReasonCode = "LandsOnHotNode"
	ReasonDestinationTurnsHot ReasonCode = "DestinationWouldTurnHot"
	ReasonDestinationNotCold  ReasonCode = "DestinationNotCold"
	ReasonHourlyLimit         ReasonCode = "HourlyLimit"
	ReasonCycleLimit          ReasonCode = "CycleLimit"
	ReasonNodeCycleLimit      ReasonCode = "NodeCycleLimit"
	ReasonNodeCleared         ReasonCode = "NodeNoLongerHot"
	ReasonTooLittleGain       ReasonCode = "TooLittleImprovement"
	ReasonWorkloadInPlan      ReasonCode = "WorkloadAlreadyInPlan"
	// ReasonUncertainDestination: the scheduler may pick one of several nodes (equal top scores,
	// or a sample in a large cluster) and not every one of them is an acceptable destination.
	ReasonUncertainDestination ReasonCode = "UncertainDestination"
	// ReasonUnknownScheduler: the pod's scheduler is not one the placement engine is configured
	// with, so where its replacement lands cannot be confirmed.
	ReasonUnknownScheduler ReasonCode = "UnknownScheduler"
	// ReasonResourceClaims: the pod uses dynamic resource allocation (spec.resourceClaims); the
	// placement engine does not model devices, so its replacement's node cannot be confirmed.
	ReasonResourceClaims ReasonCode = "ResourceClaims"
	// ReasonAfterUncertainMove: an earlier move of the cycle may land on one of several nodes,
	// and where this pod's replacement lands depends on that draw in a way the planner does not
	// bound (confirmer.afterDraws); the move waits for the next cycle.
	ReasonAfterUncertainMove ReasonCode = "AfterUncertainMove"
	// ReasonConfirmationLimit: the placement engine ran as often as one cycle allows; the move is
	// not confirmed this cycle.
	ReasonConfirmationLimit ReasonCode = "ConfirmationLimit"
	// ReasonPlacementError: the placement engine failed to place the replacement.
	ReasonPlacementError ReasonCode = "PlacementError"
	// ReasonConfigInvalid: the fresh check before an eviction found that the policy, read again,
	// no longer resolves (it was changed to something that cannot work): nothing is evicted.
	ReasonConfigInvalid ReasonCode = "ConfigInvalid"
	// ReasonSchedulerUnavailable: the pod's scheduler has no leader (its Lease is stale): the
	// replacement would stay Pending.
	ReasonSchedulerUnavailable ReasonCode = "SchedulerUnavailable"

	// ReasonOutsideWindow: the policy has disruption windows and none is open; the move is
	// reported (what the plan would do) and made in a later cycle inside a window, if still
	// worth it.
	ReasonOutsideWindow ReasonCode = "OutsideDisruptionWindow"
)

// Why a move is made.
const (
	// ReasonLowersSigma: the move gives the largest predicted drop in sigma among the candidates.
	ReasonLowersSigma ReasonCode = "LowersSigma"
)
