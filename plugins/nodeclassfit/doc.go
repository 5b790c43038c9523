// Package nodeclassfit is the RebalancerNodeClassFit scheduler plugin: a Score plugin for the
// Rebalancer's secondary scheduler (schedulerName rebalancer-scheduler) that places pods by what
// nodes really use, in reference units that account for each NodeClass's core speed, prefers the
// NodeClasses that suit the pod's workload profile, and keeps pods off the nodes the evictor
// calls hot. The score itself is pkg/scoring's PlacementScore, the formula the evictor's planner
// uses to predict where an evicted pod lands.
//
// Score does no I/O: a collector started by New reads usage (pkg/usage) and the NodeClasses and
// RebalancePolicy (informers) in the background and publishes an immutable snapshot; PreScore
// pins the snapshot and the pod's expected usage and profile in CycleState. README.md says how to
// configure it and how the scheduler and the evictor agree on which nodes are hot.
package nodeclassfit
