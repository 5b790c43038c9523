package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RebalancerNodeClassFitArgs are the args of the RebalancerNodeClassFit Score plugin, after
// defaulting. See package v1 for what each field means.
//
// +kubebuilder:object:root=true
type RebalancerNodeClassFitArgs struct {
	metav1.TypeMeta

	// PlacementWeights weigh the three parts of the placement score.
	PlacementWeights PlacementWeights
	// PolicyName is the RebalancePolicy whose thresholds, weights, usage source and status the
	// plugin follows.
	PolicyName string
	// UsageRefreshInterval is how often the plugin reads usage.
	UsageRefreshInterval metav1.Duration
	// PrometheusAddress is the Prometheus server to read when the policy's usage source is
	// prometheus and the policy names no address.
	PrometheusAddress string
}

// PlacementWeights weigh headroom, NodeClass weight and profile match, each from 0 to 100.
type PlacementWeights struct {
	Headroom    int32
	ClassWeight int32
	Profile     int32
}
