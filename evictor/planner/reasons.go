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
)

// Why a move is made.
const (
	// ReasonLowersSigma: the move gives the largest predicted drop in sigma among the candidates.
	ReasonLowersSigma ReasonCode = "LowersSigma"
)
