package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RebalancerNodeClassFitArgs configure the RebalancerNodeClassFit Score plugin.
//
// +kubebuilder:object:root=true
type RebalancerNodeClassFitArgs struct {
	metav1.TypeMeta `json:",inline"`

	// placementWeights weigh the three parts of the placement score (pkg/scoring's
	// PlacementScore): headroom left on the node after placing the pod, the NodeClass's weight,
	// and whether the NodeClass prefers the pod's workload profile. Each is from 0 to 100 and
	// they need not add up to 100: the score divides by their sum, which must be above 0.
	// Unset weights take their defaults (60, 10, 30). The evictor predicts where an evicted pod
	// lands with the defaults, so change them knowingly.
	// +optional
	PlacementWeights *PlacementWeights `json:"placementWeights,omitempty"`

	// policyName is the RebalancePolicy the plugin follows: its status names the nodes the
	// evictor classified hot and cold; its spec gives the thresholds, hysteresis, CPU/memory
	// weights and the usage source. Defaults to "default".
	// +optional
	PolicyName *string `json:"policyName,omitempty"`

	// usageRefreshInterval is how often the plugin reads node and pod usage, a duration from 1s
	// to 10m. Defaults to 15s (metrics-server's default resolution).
	// +optional
	UsageRefreshInterval *metav1.Duration `json:"usageRefreshInterval,omitempty"`

	// prometheusAddress is the Prometheus server (an http or https URL) to read when the
	// policy's usage source is prometheus and the policy names no address: the scheduler's
	// counterpart of the evictor's --prometheus-address. Unset by default.
	// +optional
	PrometheusAddress *string `json:"prometheusAddress,omitempty"`
}

// PlacementWeights weigh the parts of the placement score, each from 0 to 100.
type PlacementWeights struct {
	// headroom weighs how much capacity the node has left after placing the pod. Defaults to 60.
	// +optional
	Headroom *int32 `json:"headroom,omitempty"`
	// classWeight weighs the NodeClass's weight (its placement preference). Defaults to 10.
	// +optional
	ClassWeight *int32 `json:"classWeight,omitempty"`
	// profile weighs whether the NodeClass prefers the pod's workload profile. Defaults to 30.
	// +optional
	Profile *int32 `json:"profile,omitempty"`
}
