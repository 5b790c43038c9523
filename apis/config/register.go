package config

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is kube-scheduler's configuration group. Plugin args are kinds of that group named
// <plugin name>Args, which is how kube-scheduler finds the type to decode a plugin's args into.
const GroupName = "kubescheduler.config.k8s.io"

// SchemeGroupVersion is the internal version of the args.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

var (
	// SchemeBuilder adds the internal args type to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the internal args type to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &RebalancerNodeClassFitArgs{})
	return nil
}
