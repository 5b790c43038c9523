// Package v1alpha1 holds the Rebalancer's API: RebalancePolicy (how and how much to rebalance),
// WorkloadSLO (how much disruption a workload tolerates) and NodeClass (what kinds of nodes the
// cluster has and which workloads suit them).
//
// +kubebuilder:object:generate=true
// +groupName=rebalancer.atarnet.org
package v1alpha1
