package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// WorkloadSLOSpec states how much disruption a workload tolerates.
// +kubebuilder:validation:XValidation:rule="!has(self.maxStatefulDisruptionsPerHour) || (has(self.allowStateful) && self.allowStateful)",message="maxStatefulDisruptionsPerHour may be set only when allowStateful is true"
// +kubebuilder:validation:XValidation:rule="!has(self.maxStatefulDisruptionsPerHour) || self.maxStatefulDisruptionsPerHour <= (has(self.maxDisruptionsPerHour) ? self.maxDisruptionsPerHour : 1)",message="maxStatefulDisruptionsPerHour must not exceed maxDisruptionsPerHour"
type WorkloadSLOSpec struct {
	// selector selects the workload's pods in this namespace. It must not be empty: an SLO covers
	// one workload, not a whole namespace.
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="selector must have matchLabels or matchExpressions; an empty selector would cover every pod in the namespace"
	// +required
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn'] && has(e.values) && size(e.values) > 0) || (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="selector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
	Selector *metav1.LabelSelector `json:"selector"`

	// maxDisruptionsPerHour caps evictions of the workload's pods over any sliding hour, across
	// evictor restarts. 0 forbids evictions. Defaults to 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxDisruptionsPerHour *int32 `json:"maxDisruptionsPerHour,omitempty"`

	// readinessWindow: after an eviction, the workload is not disrupted again until its
	// replacement pods have been Ready for this long (a duration such as 2m). Defaults to 5m.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+)$')",message="readinessWindow must be a non-negative duration such as 90s, 5m or 1h"
	// +optional
	ReadinessWindow *metav1.Duration `json:"readinessWindow,omitempty"`

	// minAvailable is how many of the workload's pods (a number, or a percentage such as "80%")
	// must stay Ready after an eviction. Unset means at least one must remain.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",message="minAvailable must be a non-negative integer or a percentage from 0% to 100%"
	// +optional
	MinAvailable *intstr.IntOrString `json:"minAvailable,omitempty"`

	// allowStateful allows evicting the workload's StatefulSet pods and pods that mount
	// PersistentVolumeClaims. Defaults to false: such pods are never evicted.
	// +kubebuilder:default=false
	// +optional
	AllowStateful *bool `json:"allowStateful,omitempty"`

	// maxStatefulDisruptionsPerHour caps evictions of stateful pods when allowStateful is true.
	// Unset means maxDisruptionsPerHour applies alone.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxStatefulDisruptionsPerHour *int32 `json:"maxStatefulDisruptionsPerHour,omitempty"`
}

// WorkloadSLOStatus is the workload's disruption budget as the evictor keeps it.
type WorkloadSLOStatus struct {
	// observedGeneration is the spec generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// matchingPods counts the pods the selector matched in the last cycle.
	// +optional
	MatchingPods int32 `json:"matchingPods,omitempty"`

	// ledger records the workload's evictions in the last hour, oldest first. Each entry is written
	// before the eviction is requested and removed if the request fails.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Ledger []Disruption `json:"ledger,omitempty"`

	// disruptionsRemaining is how many more evictions the budget allows this hour.
	// +optional
	DisruptionsRemaining *int32 `json:"disruptionsRemaining,omitempty"`

	// pending lists pods the evictor wanted to move but held back, with the reason.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Pending []PendingDisruption `json:"pending,omitempty"`
}

// PendingDisruption is an eviction the evictor wanted but held back.
type PendingDisruption struct {
	// pod is the name of the pod held back.
	Pod string `json:"pod"`
	// node the pod runs on.
	// +optional
	Node string `json:"node,omitempty"`
	// reason it was held back, such as "WorkloadSLO budget exhausted: 1 of 1 disruptions used in the last hour".
	Reason string `json:"reason"`
	// since is when the evictor first held it back for this reason.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// WorkloadSLO is a workload's disruption budget for the Rebalancer: how often its pods may be
// evicted, how long replacements must be Ready first, and whether stateful pods may move at all.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=wslo,categories=rebalancer
// +kubebuilder:printcolumn:name="Max-1h",type=integer,JSONPath=`.spec.maxDisruptionsPerHour`
// +kubebuilder:printcolumn:name="Remaining",type=integer,JSONPath=`.status.disruptionsRemaining`
// +kubebuilder:printcolumn:name="Pods",type=integer,JSONPath=`.status.matchingPods`
// +kubebuilder:printcolumn:name="Window",type=string,JSONPath=`.spec.readinessWindow`
// +kubebuilder:printcolumn:name="Stateful",type=boolean,JSONPath=`.spec.allowStateful`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WorkloadSLO struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the workload's disruption budget.
	// +required
	Spec WorkloadSLOSpec `json:"spec"`
	// status is the budget as spent.
	// +optional
	Status WorkloadSLOStatus `json:"status,omitempty"`
}

// WorkloadSLOList is a list of WorkloadSLOs.
// +kubebuilder:object:root=true
type WorkloadSLOList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkloadSLO `json:"items"`
}
