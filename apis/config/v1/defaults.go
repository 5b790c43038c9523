package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Defaults of the args. The placement weights are pkg/scoring's DefaultPlacementWeights in
// percent, so a scheduler left at its defaults scores exactly as the evictor predicts.
const (
	DefaultHeadroomWeight       int32 = 60
	DefaultClassWeight          int32 = 10
	DefaultProfileWeight        int32 = 30
	DefaultPolicyName                 = "default"
	DefaultUsageRefreshInterval       = 15 * time.Second
)

// SetDefaults_RebalancerNodeClassFitArgs fills the unset fields. It never changes a set one.
//
//nolint:revive // The SetDefaults_<Kind> name is the Kubernetes defaulting convention.
func SetDefaults_RebalancerNodeClassFitArgs(obj *RebalancerNodeClassFitArgs) {
	if obj.PlacementWeights == nil {
		obj.PlacementWeights = &PlacementWeights{}
	}
	w := obj.PlacementWeights
	if w.Headroom == nil {
		w.Headroom = ptr.To(DefaultHeadroomWeight)
	}
	if w.ClassWeight == nil {
		w.ClassWeight = ptr.To(DefaultClassWeight)
	}
	if w.Profile == nil {
		w.Profile = ptr.To(DefaultProfileWeight)
	}
	if obj.PolicyName == nil {
		obj.PolicyName = ptr.To(DefaultPolicyName)
	}
	if obj.UsageRefreshInterval == nil {
		obj.UsageRefreshInterval = &metav1.Duration{Duration: DefaultUsageRefreshInterval}
	}
}
