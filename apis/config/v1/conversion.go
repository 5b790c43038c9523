package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/apis/config"
)

// Convert_v1_RebalancerNodeClassFitArgs_To_config_RebalancerNodeClassFitArgs maps the versioned
// args to the internal type. kube-scheduler defaults before it converts; a field still unset here
// becomes its zero value, which validation rejects.
//
//nolint:revive // The Convert_<from>_To_<to> name is the Kubernetes conversion convention.
func Convert_v1_RebalancerNodeClassFitArgs_To_config_RebalancerNodeClassFitArgs(in *RebalancerNodeClassFitArgs, out *config.RebalancerNodeClassFitArgs, _ conversion.Scope) error {
	out.TypeMeta = in.TypeMeta
	out.PlacementWeights = config.PlacementWeights{}
	if w := in.PlacementWeights; w != nil {
		out.PlacementWeights = config.PlacementWeights{
			Headroom:    ptr.Deref(w.Headroom, 0),
			ClassWeight: ptr.Deref(w.ClassWeight, 0),
			Profile:     ptr.Deref(w.Profile, 0),
		}
	}
	out.PolicyName = ptr.Deref(in.PolicyName, "")
	out.UsageRefreshInterval.Duration = 0
	if in.UsageRefreshInterval != nil {
		out.UsageRefreshInterval = *in.UsageRefreshInterval
	}
	out.PrometheusAddress = ptr.Deref(in.PrometheusAddress, "")
	return nil
}

// Convert_config_RebalancerNodeClassFitArgs_To_v1_RebalancerNodeClassFitArgs maps the internal
// args back to the versioned type (kube-scheduler does so to log and serve its configuration).
//
//nolint:revive // The Convert_<from>_To_<to> name is the Kubernetes conversion convention.
func Convert_config_RebalancerNodeClassFitArgs_To_v1_RebalancerNodeClassFitArgs(in *config.RebalancerNodeClassFitArgs, out *RebalancerNodeClassFitArgs, _ conversion.Scope) error {
	out.TypeMeta = in.TypeMeta
	out.PlacementWeights = &PlacementWeights{
		Headroom:    ptr.To(in.PlacementWeights.Headroom),
		ClassWeight: ptr.To(in.PlacementWeights.ClassWeight),
		Profile:     ptr.To(in.PlacementWeights.Profile),
	}
	out.PolicyName = ptr.To(in.PolicyName)
	out.UsageRefreshInterval = &metav1.Duration{Duration: in.UsageRefreshInterval.Duration}
	out.PrometheusAddress = nil
	if in.PrometheusAddress != "" {
		out.PrometheusAddress = ptr.To(in.PrometheusAddress)
	}
	return nil
}
