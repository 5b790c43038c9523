package v1

import (
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tinorodney/rebalancer/apis/config"
)

// SchemeGroupVersion is kubescheduler.config.k8s.io/v1, the version of KubeSchedulerConfiguration
// the args are written in.
var SchemeGroupVersion = schema.GroupVersion{Group: config.GroupName, Version: "v1"}

var (
	// SchemeBuilder adds the versioned args type, its defaulting and its conversions to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes, addDefaultingFuncs, addConversionFuncs)
	// AddToScheme adds the versioned args type, its defaulting and its conversions to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &RebalancerNodeClassFitArgs{})
	return nil
}

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	scheme.AddTypeDefaultingFunc(&RebalancerNodeClassFitArgs{}, func(obj interface{}) {
		SetDefaults_RebalancerNodeClassFitArgs(obj.(*RebalancerNodeClassFitArgs))
	})
	return nil
}

func addConversionFuncs(scheme *runtime.Scheme) error {
	if err := scheme.AddConversionFunc((*RebalancerNodeClassFitArgs)(nil), (*config.RebalancerNodeClassFitArgs)(nil),
		func(a, b interface{}, s conversion.Scope) error {
			return Convert_v1_RebalancerNodeClassFitArgs_To_config_RebalancerNodeClassFitArgs(a.(*RebalancerNodeClassFitArgs), b.(*config.RebalancerNodeClassFitArgs), s)
		}); err != nil {
		return err
	}
	return scheme.AddConversionFunc((*config.RebalancerNodeClassFitArgs)(nil), (*RebalancerNodeClassFitArgs)(nil),
		func(a, b interface{}, s conversion.Scope) error {
			return Convert_config_RebalancerNodeClassFitArgs_To_v1_RebalancerNodeClassFitArgs(a.(*config.RebalancerNodeClassFitArgs), b.(*RebalancerNodeClassFitArgs), s)
		})
}
