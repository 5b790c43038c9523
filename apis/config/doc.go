// Package config holds the internal (unversioned) type of the RebalancerNodeClassFit scheduler
// plugin's args. Users write the versioned type in package v1 inside a KubeSchedulerConfiguration;
// kube-scheduler defaults it, converts it to this type and hands it to the plugin, which validates
// it with package validation.
//
// +kubebuilder:object:generate=true
package config
