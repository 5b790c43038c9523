package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeClassSpec describes one kind of node: which nodes belong, how fast their cores are, and
// which workloads suit them.
type NodeClassSpec struct {
	// nodeSelector selects the member nodes. It must not be empty. A node should belong to one
	// NodeClass; when several match, the one with the highest weight (then the oldest) applies.
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="nodeSelector must have matchLabels or matchExpressions"
	// +required
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn'] && has(e.values) && size(e.values) > 0) || (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="nodeSelector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
	NodeSelector *metav1.LabelSelector `json:"nodeSelector"`

	// weight is the placement preference for the class, from 0 to 100: the scheduler prefers
	// classes of higher weight when nodes are otherwise equal. Defaults to 50.
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Weight *int32 `json:"weight,omitempty"`

	// capacityFactor is the relative speed of one of the class's cores against a reference server
	// core, greater than 0 and at most 10: 0.5 for a Raspberry Pi 4. CPU is counted in reference
	// cores: a node offers allocatable x capacityFactor, and a pod measured using one core on a
	// node of factor 0.5 is expected to need half a core on a node of factor 1. Defaults to 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:ExclusiveMinimum=true
	// +kubebuilder:validation:Maximum=10
	// +optional
	CapacityFactor *float64 `json:"capacityFactor,omitempty"`

	// preferredProfiles are the workload profiles that suit the class. A pod states its profile
	// with the label (or annotation) rebalancer.atarnet.org/profile: cpu-bound, memory-bound or
	// balanced.
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +optional
	PreferredProfiles []WorkloadProfile `json:"preferredProfiles,omitempty"`

	// thresholds, when set, replace the policy's hot and cold thresholds for the class's nodes.
	// +optional
	Thresholds *Thresholds `json:"thresholds,omitempty"`
}

// NodeClassStatus says which nodes belong to the class and how loaded they are.
type NodeClassStatus struct {
	// observedGeneration is the spec generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (False when no node matches, or when nodes also match another class).
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// nodeCount is how many nodes belong to the class.
	// +optional
	NodeCount int32 `json:"nodeCount,omitempty"`

	// nodes names the member nodes, sorted; at most 256 are listed (nodeCount has the total).
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Nodes []string `json:"nodes,omitempty"`

	// meanUtilization is the mean utilisation score of the member nodes, from 0 to 1.
	// +optional
	MeanUtilization *float64 `json:"meanUtilization,omitempty"`
}

// NodeClass is a kind of node (say Raspberry Pi 4 ARM nodes or x86 servers): its members, the
// relative speed of its cores, and the workloads that suit it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rnc,categories=rebalancer
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.weight`
// +kubebuilder:printcolumn:name="Capacity",type=number,JSONPath=`.spec.capacityFactor`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodeCount`
// +kubebuilder:printcolumn:name="Mean-Util",type=number,format=float,JSONPath=`.status.meanUtilization`
// +kubebuilder:printcolumn:name="Profiles",type=string,JSONPath=`.spec.preferredProfiles`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NodeClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the class.
	// +required
	Spec NodeClassSpec `json:"spec"`
	// status is the class as observed.
	// +optional
	Status NodeClassStatus `json:"status,omitempty"`
}

// NodeClassList is a list of NodeClasses.
// +kubebuilder:object:root=true
type NodeClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeClass `json:"items"`
}
