// Package v1 is the versioned API of the RebalancerNodeClassFit scheduler plugin's args
// (kubescheduler.config.k8s.io/v1, kind RebalancerNodeClassFitArgs), the form users write in a
// KubeSchedulerConfiguration. Every field is a pointer so that defaulting can tell "unset" from
// zero; SetDefaults_RebalancerNodeClassFitArgs fills only unset fields and never repairs a bad
// value (the validator rejects it).
//
// +kubebuilder:object:generate=true
package v1
