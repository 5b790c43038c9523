package v1alpha1

// Names that pods, nodes and the two programs share. They are part of the API: renaming one breaks
// every workload that uses it.
const (
	// OptInLabelKey and OptInLabelValue form the label a pod carries to be a candidate for eviction
	// under the default RebalancePolicy: rebalancer=ok.
	OptInLabelKey   = "rebalancer"
	OptInLabelValue = "ok"

	// SchedulerName is the schedulerName of pods placed by the Rebalancer's scheduler.
	SchedulerName = "rebalancer-scheduler"

	// ProfileKey is the label (or, when no label is set, annotation) on a pod stating its workload
	// profile: one of the WorkloadProfile values. A label wins over an annotation.
	ProfileKey = GroupName + "/profile"

	// DefaultPinnedAnnotation is the annotation that, set to "true" on a pod, keeps the evictor away
	// from it, unless the policy names another annotation in spec.safety.pinnedAnnotation.
	DefaultPinnedAnnotation = GroupName + "/pinned"
)

// WorkloadProfile says which resource dominates a workload's usage.
// +kubebuilder:validation:Enum=cpu-bound;memory-bound;balanced
type WorkloadProfile string

const (
	// ProfileCPUBound is a workload whose CPU usage is large for its memory.
	ProfileCPUBound WorkloadProfile = "cpu-bound"
	// ProfileMemoryBound is a workload whose memory usage is large for its CPU.
	ProfileMemoryBound WorkloadProfile = "memory-bound"
	// ProfileBalanced is a workload that uses both in proportion.
	ProfileBalanced WorkloadProfile = "balanced"
)
