package v1alpha1

// Condition types set in the status of the Rebalancer's objects.
const (
	// ConditionReady is True when the object is in effect: for a RebalancePolicy, its last cycle
	// ran with valid configuration and fresh usage.
	ConditionReady = "Ready"
	// ConditionConfigValid is False when a spec passes schema validation but cannot work, for
	// example it names a PriorityClass that does not exist. Nothing is evicted while it is False.
	ConditionConfigValid = "ConfigValid"
	// ConditionMetricsAvailable is False when the usage source is down or every sample is stale.
	// Nothing is evicted while it is False.
	ConditionMetricsAvailable = "MetricsAvailable"
	// ConditionConflict is True when this RebalancePolicy selects nodes that an older policy
	// already owns; it evicts nothing on those nodes.
	ConditionConflict = "Conflict"
	// ConditionDryRun is True while the policy only reports what it would evict.
	ConditionDryRun = "DryRun"
)

// Condition reasons. They are CamelCase identifiers, stable for alerting and scripts.
const (
	ReasonCycleSucceeded          = "CycleSucceeded"
	ReasonValid                   = "Valid"
	ReasonInvalid                 = "Invalid"
	ReasonPartialReadings         = "PartialReadings"
	ReasonUnknownPriorityClass    = "UnknownPriorityClass"
	ReasonInvalidDisruptionWindow = "InvalidDisruptionWindow"
	ReasonOutsideDisruptionWindow = "OutsideDisruptionWindow"
	ReasonPrometheusUnreachable   = "PrometheusUnreachable"
	ReasonNoPrometheusAddress     = "NoPrometheusAddress"
	ReasonInvalidQuery            = "InvalidQuery"
	ReasonMetricsStale            = "MetricsStale"
	ReasonSourceUnavailable       = "SourceUnavailable"
	ReasonMetricsFresh            = "MetricsFresh"
	ReasonOverlapsOlderPolicy     = "OverlapsOlderPolicy"
	ReasonNoOverlap               = "NoOverlap"
	ReasonDryRunEnabled           = "DryRunEnabled"
	ReasonDryRunDisabled          = "DryRunDisabled"
	ReasonNoMatchingNodes         = "NoMatchingNodes"
	ReasonNodesMatched            = "NodesMatched"
	ReasonOverlappingNodeClass    = "OverlappingNodeClass"
	ReasonBudgetAvailable         = "BudgetAvailable"
	ReasonBudgetExhausted         = "BudgetExhausted"
)
