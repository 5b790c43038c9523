package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RebalancePolicySpec says which pods and nodes the evictor balances, how it judges a node hot or
// cold, and how much disruption it may cause.
// +kubebuilder:validation:XValidation:rule="!has(self.hysteresis) || !has(self.thresholds) || !has(self.hysteresis.margin) || 2.0 * self.hysteresis.margin < self.thresholds.hot - self.thresholds.cold",message="hysteresis.margin must be less than half the gap between thresholds.hot and thresholds.cold, or a node could be leaving hot and leaving cold at once"
type RebalancePolicySpec struct {
	// dryRun, when true, makes the evictor plan and report the evictions it would make ("would
	// evict" events and the rebalancer_dry_run_evictions_total metric) without evicting anything.
	// Defaults to true: set it to false once the reported plans look right.
	// +kubebuilder:default=true
	// +optional
	DryRun *bool `json:"dryRun,omitempty"`

	// podSelector selects the pods that may be evicted. Only pods that match are ever candidates.
	// Defaults to the opt-in label rebalancer=ok. An empty selector ({}) selects every pod, which
	// is rarely what you want.
	// +kubebuilder:default={matchLabels:{rebalancer:ok}}
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn'] && has(e.values) && size(e.values) > 0) || (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="podSelector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`

	// namespaceSelector limits candidates to pods in namespaces whose labels match. Unset means
	// every namespace (still subject to namespaces.include and namespaces.exclude).
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn'] && has(e.values) && size(e.values) > 0) || (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="namespaceSelector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// namespaces lists namespaces by name to include or to exclude, in addition to namespaceSelector.
	// +optional
	Namespaces *NamespaceFilter `json:"namespaces,omitempty"`

	// nodeSelector limits the nodes this policy balances (and the destinations it predicts). Unset
	// means every node. Two policies must not select the same node: the older one keeps it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn'] && has(e.values) && size(e.values) > 0) || (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="nodeSelector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// weights of CPU and memory in a node's utilisation score. They need not add up to 1: the score
	// divides by their sum. Defaults to 0.5 each.
	// +kubebuilder:default={}
	// +optional
	Weights *ResourceWeights `json:"weights,omitempty"`

	// thresholds classify nodes by utilisation score (a fraction of allocatable, 0 to 1): at or
	// above hot a node sheds pods, below cold it receives them.
	// +kubebuilder:default={}
	// +optional
	Thresholds *Thresholds `json:"thresholds,omitempty"`

	// hysteresis keeps a node's classification from flapping on noisy readings.
	// +kubebuilder:default={}
	// +optional
	Hysteresis *Hysteresis `json:"hysteresis,omitempty"`

	// minSigmaImprovement is the least drop in sigma (the standard deviation of node utilisation
	// scores, a fraction) that one eviction must buy to be made. The default, 0, makes any move
	// that lowers sigma worth making (the hot and cold thresholds, budgets and backoff already
	// keep the evictor from moving pods for nothing). One eviction moves sigma by roughly
	// (gap it closes x pod's share of a node) / (nodes x sigma): on tens of nodes a move buys
	// 0.001 to 0.01, on thousands 0.00001 to 0.0003, so a value that suits a small cluster stops
	// a large one from relieving its hot nodes.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +optional
	MinSigmaImprovement *float64 `json:"minSigmaImprovement,omitempty"`

	// destinations says where the replacement of an evicted pod must be predicted to land for
	// the eviction to be made. Cold (the default): only on a cold node, so load moves from hot
	// nodes to cold ones and nothing is evicted once no cold node has room (descheduler's
	// LowNodeUtilization likewise needs underutilised nodes). NotHot: on any node that is not hot
	// and stays under its hot threshold minus the hysteresis margin; clears more hot nodes, at the
	// price of filling normal nodes. The evictor confirms the destination by running the pod's
	// scheduler: every node among equal top scores must qualify, and when the scheduler scores
	// only a sample of the nodes (the default scheduler, over 100 nodes) the chance that it picks
	// a node that does not qualify must be at most 5%; otherwise the pod is held back
	// (UncertainDestination).
	// +kubebuilder:default=Cold
	// +optional
	Destinations *Destinations `json:"destinations,omitempty"`

	// rateLimits cap how many pods are evicted per cycle, per node per cycle and per hour.
	// +kubebuilder:default={}
	// +optional
	RateLimits *RateLimits `json:"rateLimits,omitempty"`

	// namespaceBudgets cap disruptions per hour in the namespaces listed; other namespaces are
	// limited only by rateLimits and WorkloadSLOs.
	// +listType=map
	// +listMapKey=namespace
	// +kubebuilder:validation:MaxItems=256
	// +optional
	NamespaceBudgets []NamespaceBudget `json:"namespaceBudgets,omitempty"`

	// podBackoff is how long a workload whose pod was evicted is left alone (a duration such as
	// 30m). Defaults to 30m.
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="podBackoff must be a non-negative duration such as 90s, 30m or 1h"
	// +optional
	PodBackoff *metav1.Duration `json:"podBackoff,omitempty"`

	// disruptionWindows, when set, are the only times the policy evicts: a recurring window opens
	// at each time its cron schedule names and stays open for its duration. Outside every window
	// the evictor still plans each cycle and reports what it would evict (dry-run counter, events,
	// dashboard), holding each move back with reason OutsideDisruptionWindow; the status says
	// when the next window opens. Unset or empty: the policy may evict at any time.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +optional
	DisruptionWindows []DisruptionWindow `json:"disruptionWindows,omitempty"`

	// safety protects pods that must never be evicted, whatever else the policy says.
	// +kubebuilder:default={}
	// +optional
	Safety *Safety `json:"safety,omitempty"`

	// metrics says where node and pod usage come from and when a reading is too old to act on.
	// +kubebuilder:default={}
	// +optional
	Metrics *MetricsSource `json:"metrics,omitempty"`

	// interval between two rebalancing cycles, at least 10s. Defaults to 1m.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('10s')",message="interval must be a duration of at least 10s, such as 30s or 5m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// NamespaceFilter names namespaces to include or to exclude; not both.
// +kubebuilder:validation:XValidation:rule="!(has(self.include) && size(self.include) > 0 && has(self.exclude) && size(self.exclude) > 0)",message="set namespaces.include or namespaces.exclude, not both"
type NamespaceFilter struct {
	// include, when set, limits candidates to pods in these namespaces.
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Include []string `json:"include,omitempty"`

	// exclude lists namespaces whose pods are never candidates.
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// ResourceWeights weigh CPU against memory in a node's utilisation score.
// +kubebuilder:validation:XValidation:rule="(has(self.cpu) ? self.cpu : 0.5) + (has(self.memory) ? self.memory : 0.5) > 0.0",message="weights.cpu and weights.memory must not both be 0"
type ResourceWeights struct {
	// cpu is the weight of CPU utilisation, from 0 to 1. Defaults to 0.5.
	// +kubebuilder:default=0.5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +optional
	CPU *float64 `json:"cpu,omitempty"`

	// memory is the weight of memory utilisation, from 0 to 1. Defaults to 0.5.
	// +kubebuilder:default=0.5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	// +optional
	Memory *float64 `json:"memory,omitempty"`
}

// Thresholds classify a node by its utilisation, a fraction of allocatable in (0, 1]: hot on its
// busiest weighted resource, cold on its weighted score.
// +kubebuilder:validation:XValidation:rule="(has(self.cold) ? self.cold : 0.35) < (has(self.hot) ? self.hot : 0.75)",message="thresholds.cold must be lower than thresholds.hot"
type Thresholds struct {
	// hot: a node with CPU or memory (either one that has a weight) at or above this fraction is
	// hot and sheds pods: a node full on one resource is hot whatever the other. Defaults to 0.75.
	// +kubebuilder:default=0.75
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +optional
	Hot float64 `json:"hot,omitempty"`

	// cold: a node whose weighted score (of CPU and memory) is below this fraction is cold and
	// receives pods. Defaults to 0.35.
	// +kubebuilder:default=0.35
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=1
	// +optional
	Cold float64 `json:"cold,omitempty"`
}

// Destinations says which nodes may receive the replacement of an evicted pod.
// +kubebuilder:validation:Enum=Cold;NotHot
type Destinations string

const (
	// DestinationsCold: only cold nodes.
	DestinationsCold Destinations = "Cold"
	// DestinationsNotHot: any node that is not hot and is not pushed within the hysteresis margin
	// of its hot threshold.
	DestinationsNotHot Destinations = "NotHot"
)

// Hysteresis keeps a node's classification from flapping: a node becomes hot after
// consecutiveReadings readings at or above thresholds.hot and stops being hot only below
// thresholds.hot - margin; cold works the same way the other way round.
type Hysteresis struct {
	// margin is the band, as a fraction of allocatable, a node must leave a threshold by before it
	// loses its classification. Defaults to 0.05.
	// +kubebuilder:default=0.05
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=0.5
	// +optional
	Margin *float64 `json:"margin,omitempty"`

	// consecutiveReadings is how many readings in a row must cross a threshold before a node is
	// classified hot or cold. Defaults to 3.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	ConsecutiveReadings int32 `json:"consecutiveReadings,omitempty"`
}

// RateLimits cap evictions. 0 means none at all, which pauses the policy.
// +kubebuilder:validation:XValidation:rule="!has(self.maxEvictionsPerNodePerCycle) || !has(self.maxEvictionsPerCycle) || self.maxEvictionsPerNodePerCycle <= self.maxEvictionsPerCycle",message="rateLimits.maxEvictionsPerNodePerCycle must not exceed rateLimits.maxEvictionsPerCycle"
// +kubebuilder:validation:XValidation:rule="!has(self.maxEvictionsPerCycle) || !has(self.maxEvictionsPerHour) || self.maxEvictionsPerCycle <= self.maxEvictionsPerHour",message="rateLimits.maxEvictionsPerCycle must not exceed rateLimits.maxEvictionsPerHour"
type RateLimits struct {
	// maxEvictionsPerCycle caps evictions in one cycle. Defaults to 5.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxEvictionsPerCycle *int32 `json:"maxEvictionsPerCycle,omitempty"`

	// maxEvictionsPerNodePerCycle caps evictions from one node in one cycle. Defaults to 2.
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxEvictionsPerNodePerCycle *int32 `json:"maxEvictionsPerNodePerCycle,omitempty"`

	// maxEvictionsPerHour caps evictions over any sliding hour, across restarts. Defaults to 30.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	MaxEvictionsPerHour *int32 `json:"maxEvictionsPerHour,omitempty"`
}

// NamespaceBudget caps disruptions in one namespace.
type NamespaceBudget struct {
	// namespace the budget applies to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Namespace string `json:"namespace"`

	// maxDisruptionsPerHour caps evictions in the namespace over any sliding hour.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +required
	MaxDisruptionsPerHour int32 `json:"maxDisruptionsPerHour"`
}

// Safety protects pods from eviction whatever else the policy says. DaemonSet, mirror (static) and
// system-critical pods are always protected and need no setting here.
type Safety struct {
	// priorityThreshold protects pods whose priority is at or above it. Defaults to value 100000.
	// +kubebuilder:default={value:100000}
	// +optional
	PriorityThreshold *PriorityThreshold `json:"priorityThreshold,omitempty"`

	// maxLocalStorage protects pods whose local storage (emptyDir volumes not backed by memory, at
	// their sizeLimit, or the pod's ephemeral-storage limit when unsized) is above it. Defaults to 1Gi.
	// +kubebuilder:default="1Gi"
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))",message="maxLocalStorage must be a non-negative quantity such as 500Mi or 1Gi"
	// +optional
	MaxLocalStorage *resource.Quantity `json:"maxLocalStorage,omitempty"`

	// pinnedAnnotation names the pod annotation that, set to "true", pins a pod to its node.
	// Defaults to rebalancer.atarnet.org/pinned.
	// +kubebuilder:default="rebalancer.atarnet.org/pinned"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	// +optional
	PinnedAnnotation string `json:"pinnedAnnotation,omitempty"`

	// minPodAge protects pods younger than this duration. Defaults to 5m.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="minPodAge must be a non-negative duration such as 90s, 5m or 1h"
	// +optional
	MinPodAge *metav1.Duration `json:"minPodAge,omitempty"`
}

// PriorityThreshold is a priority given as a number or as the name of a PriorityClass; not both.
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.name)",message="set exactly one of priorityThreshold.value and priorityThreshold.name"
type PriorityThreshold struct {
	// value is the priority at or above which pods are protected.
	// +kubebuilder:validation:Minimum=-2147483648
	// +kubebuilder:validation:Maximum=2000000000
	// +optional
	Value *int32 `json:"value,omitempty"`

	// name of a PriorityClass whose value is the threshold. If it does not exist the policy evicts
	// nothing and reports ConfigValid=False.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
}

// UsageSourceType names where usage readings come from.
// +kubebuilder:validation:Enum=metricsServer;prometheus
type UsageSourceType string

const (
	// UsageSourceMetricsServer reads the metrics.k8s.io API served by metrics-server.
	UsageSourceMetricsServer UsageSourceType = "metricsServer"
	// UsageSourcePrometheus runs PromQL queries against a Prometheus server.
	UsageSourcePrometheus UsageSourceType = "prometheus"
)

// MetricsSource says where usage comes from and when a reading is too old to act on.
// +kubebuilder:validation:XValidation:rule="!has(self.prometheus) || (has(self.source) && self.source == 'prometheus')",message="metrics.prometheus may be set only when metrics.source is prometheus"
type MetricsSource struct {
	// source of usage readings: metricsServer (the metrics.k8s.io API) or prometheus.
	// Defaults to metricsServer.
	// +kubebuilder:default=metricsServer
	// +optional
	Source UsageSourceType `json:"source,omitempty"`

	// prometheus configures the Prometheus source; only with source prometheus. Without it, the
	// evictor's --prometheus-address and the default queries are used.
	// +optional
	Prometheus *PrometheusSource `json:"prometheus,omitempty"`

	// staleAfter: a node whose latest reading is older than this is left out of the plan; when
	// every reading is stale nothing is evicted. Defaults to 3m; at least 15s, the resolution of
	// metrics-server's readings by default (Prometheus scrapes are usually 15s to 1m apart): a
	// shorter one would call most readings stale.
	// +kubebuilder:default="3m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('15s')",message="staleAfter must be a duration of at least 15s (metrics-server's default resolution; a shorter one calls every reading stale), such as 90s or 3m"
	// +optional
	StaleAfter *metav1.Duration `json:"staleAfter,omitempty"`
}

// PrometheusSource is a Prometheus server and the PromQL queries that read usage from it.
type PrometheusSource struct {
	// address of the Prometheus server, an http or https URL such as
	// http://prometheus-operated.monitoring:9090. Unset means the evictor's --prometheus-address.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (url(self).getScheme() == 'http' || url(self).getScheme() == 'https')",message="prometheus.address must be an http or https URL, such as http://prometheus.monitoring:9090"
	// +optional
	Address string `json:"address,omitempty"`

	// queries override the default PromQL queries. Unset ones keep the defaults, which read
	// node-exporter for nodes and cAdvisor for pods.
	// +optional
	Queries *PrometheusQueries `json:"queries,omitempty"`
}

// PrometheusQueries are PromQL instant queries. Node queries return one series per node with a
// "node" label; pod queries one series per pod with "namespace" and "pod" labels. CPU is in cores,
// memory in bytes.
type PrometheusQueries struct {
	// nodeCPU returns each node's CPU usage in cores.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	NodeCPU string `json:"nodeCPU,omitempty"`
	// nodeMemory returns each node's working-set memory in bytes.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	NodeMemory string `json:"nodeMemory,omitempty"`
	// podCPU returns each pod's CPU usage in cores.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	PodCPU string `json:"podCPU,omitempty"`
	// podMemory returns each pod's working-set memory in bytes.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	PodMemory string `json:"podMemory,omitempty"`
}

// DisruptionWindow is a recurring period in which the policy may evict.
type DisruptionWindow struct {
	// schedule is when the window opens, as a cron expression of five fields (minute hour
	// day-of-month month day-of-week, such as "0 2 * * 1-5" for 02:00 on weekdays) or one of
	// @yearly, @monthly, @weekly, @daily, @hourly, read in timezone.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[^ ]+( +[^ ]+){4})$')",message="schedule must be a cron expression of five fields (minute hour day-of-month month day-of-week), such as '0 2 * * 1-5', or one of @yearly, @monthly, @weekly, @daily, @hourly; the time zone goes in timezone, not in the schedule"
	Schedule string `json:"schedule"`

	// duration is how long the window stays open each time it opens, from 1m to 168h (a week).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1m') && duration(self) <= duration('168h')",message="duration must be a duration from 1m to 168h, such as 90m or 4h"
	Duration metav1.Duration `json:"duration"`

	// timezone is the IANA time zone the schedule is read in, such as Europe/Berlin; the window
	// follows daylight saving time there. Defaults to UTC.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`
	// +optional
	Timezone string `json:"timezone,omitempty"`
}

// DisruptionWindowStatus says whether the policy may evict now and when that changes.
type DisruptionWindowStatus struct {
	// open is true while a disruption window is open: the policy may evict.
	Open bool `json:"open"`
	// closesAt is when the open window closes.
	// +optional
	ClosesAt *metav1.Time `json:"closesAt,omitempty"`
	// nextOpensAt is when the next window opens (after the open one closes, if one is open).
	// +optional
	NextOpensAt *metav1.Time `json:"nextOpensAt,omitempty"`
}

// RebalancePolicyStatus is what the evictor saw and did in its last cycles.
type RebalancePolicyStatus struct {
	// observedGeneration is the spec generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, ConfigValid, MetricsAvailable, Conflict and DryRun.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// sigma is the standard deviation of the utilisation scores of the policy's nodes in the last
	// cycle: 0 is perfectly balanced.
	// +optional
	Sigma *float64 `json:"sigma,omitempty"`

	// nodes is how many nodes the policy balanced in the last cycle (fresh readings, not owned by
	// an older policy).
	// +optional
	Nodes int32 `json:"nodes,omitempty"`

	// hotNodes and coldNodes count nodes classified hot and cold in the last cycle.
	// +optional
	HotNodes int32 `json:"hotNodes,omitempty"`
	// +optional
	ColdNodes int32 `json:"coldNodes,omitempty"`

	// hotNodeNames and coldNodeNames name the nodes classified hot and cold in the last cycle,
	// sorted. The Rebalancer's scheduler reads them, so it calls hot exactly the nodes the evictor
	// calls hot.
	// +listType=set
	// +kubebuilder:validation:MaxItems=5000
	// +optional
	HotNodeNames []string `json:"hotNodeNames,omitempty"`
	// +listType=set
	// +kubebuilder:validation:MaxItems=5000
	// +optional
	ColdNodeNames []string `json:"coldNodeNames,omitempty"`

	// excludedNodes lists nodes the policy selects but left out of the last cycle, with why
	// (NoReading, StaleReading, OwnedByOlderPolicy), at most 50; excludedNodeCount counts them all.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	// +optional
	ExcludedNodes []ExcludedNode `json:"excludedNodes,omitempty"`
	// +optional
	ExcludedNodeCount int32 `json:"excludedNodeCount,omitempty"`

	// disruptionWindow says, for a policy with disruptionWindows, whether one was open in the
	// last cycle and when the next opens.
	// +optional
	DisruptionWindow *DisruptionWindowStatus `json:"disruptionWindow,omitempty"`

	// lastCycleTime is when the last cycle finished.
	// +optional
	LastCycleTime *metav1.Time `json:"lastCycleTime,omitempty"`

	// evictionsLastHour counts evictions in the sliding hour (dry-run decisions are not counted).
	// +optional
	EvictionsLastHour int32 `json:"evictionsLastHour,omitempty"`

	// lastPlan summarises the last plan.
	// +optional
	LastPlan *PlanSummary `json:"lastPlan,omitempty"`

	// ledger records the evictions of the last hour, oldest first, so the hourly limits survive
	// restarts and leader changes. Each entry is written before the eviction is requested.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Ledger []Disruption `json:"ledger,omitempty"`
}

// ExcludedNode is a node a policy selects but left out of its last cycle.
type ExcludedNode struct {
	// name of the node.
	Name string `json:"name"`
	// reason code: NoReading (the usage source has no reading for it), StaleReading (older than
	// spec.metrics.staleAfter) or OwnedByOlderPolicy.
	Reason string `json:"reason"`
	// message says more, for people.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Message string `json:"message,omitempty"`
}

// PlanSummary is a short account of one plan.
type PlanSummary struct {
	// moves is how many evictions the plan chose.
	Moves int32 `json:"moves"`
	// heldBack is how many candidates on hot nodes were not moved.
	HeldBack int32 `json:"heldBack"`
	// lowerBound is the fewest evictions that could bring every hot node under its threshold.
	LowerBound int32 `json:"lowerBound"`
	// predictedSigma is sigma after the planned moves, as predicted.
	// +optional
	PredictedSigma *float64 `json:"predictedSigma,omitempty"`
	// heldBackReasons counts held-back candidates by reason, most frequent first.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	HeldBackReasons []ReasonCount `json:"heldBackReasons,omitempty"`
	// stoppedBy is what kept the plan from doing more: a rate limit (CycleLimit, HourlyLimit),
	// the placement engine's runs a cycle (ConfirmationLimit), the pods' scheduler drawing among
	// nodes that are not all acceptable destinations (UncertainDestination), Budget, Backoff,
	// NoColdDestination, NothingHot, OutsideDisruptionWindow, the reason of a false condition,
	// or else the reason that held back the most candidates.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	StoppedBy string `json:"stoppedBy,omitempty"`
	// message is a one-line summary for people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// ReasonCount is how many candidates one reason held back.
type ReasonCount struct {
	// reason a candidate was held back, such as "budget exhausted" or "PDB allows no disruption".
	Reason string `json:"reason"`
	// count of candidates held back for it.
	Count int32 `json:"count"`
}

// Disruption is one eviction, recorded in a ledger.
type Disruption struct {
	// time the eviction was requested.
	Time metav1.Time `json:"time"`
	// namespace of the evicted pod.
	Namespace string `json:"namespace"`
	// pod is the evicted pod's name.
	Pod string `json:"pod"`
	// node the pod was evicted from.
	// +optional
	Node string `json:"node,omitempty"`
	// workload is the pod's controller, as Kind/name.
	// +optional
	Workload string `json:"workload,omitempty"`
	// stateful is true when the pod belonged to a StatefulSet or mounted a PersistentVolumeClaim.
	// +optional
	Stateful bool `json:"stateful,omitempty"`
	// destination is the node the replacement was planned on. For pods of the Rebalancer's
	// scheduler it is also a steer: until destinationExpires, the scheduler prefers this node for
	// the workload's next pod while the node is feasible (then its score decides as usual).
	// +optional
	Destination string `json:"destination,omitempty"`
	// destinationExpires ends the steer; unset when the pod's scheduler does not follow steers.
	// +optional
	DestinationExpires *metav1.Time `json:"destinationExpires,omitempty"`
}

// RebalancePolicy tells the evictor which pods it may move off hot nodes, how it judges nodes, and
// how much disruption it may cause. It is cluster-scoped: one policy per group of nodes.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rbp,categories=rebalancer
// +kubebuilder:printcolumn:name="Dry-Run",type=boolean,JSONPath=`.spec.dryRun`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Sigma",type=number,format=float,JSONPath=`.status.sigma`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodes`
// +kubebuilder:printcolumn:name="Hot",type=integer,JSONPath=`.status.hotNodes`
// +kubebuilder:printcolumn:name="Cold",type=integer,JSONPath=`.status.coldNodes`
// +kubebuilder:printcolumn:name="Evictions-1h",type=integer,JSONPath=`.status.evictionsLastHour`
// +kubebuilder:printcolumn:name="Max-1h",type=integer,JSONPath=`.spec.rateLimits.maxEvictionsPerHour`
// +kubebuilder:printcolumn:name="Last-Cycle",type=date,JSONPath=`.status.lastCycleTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RebalancePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the policy asks for.
	// +kubebuilder:default={}
	// +optional
	Spec RebalancePolicySpec `json:"spec,omitempty"`
	// status is what the evictor saw and did.
	// +optional
	Status RebalancePolicyStatus `json:"status,omitempty"`
}

// RebalancePolicyList is a list of RebalancePolicies.
// +kubebuilder:object:root=true
type RebalancePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RebalancePolicy `json:"items"`
}
