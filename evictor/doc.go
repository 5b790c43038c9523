// Package evictor is the evictor controller: for each RebalancePolicy, on its interval, it takes a
// snapshot of the cluster from the informer caches and a usage reading, asks the planner
// (evictor/planner) for a plan, and carries the plan out through the eviction API (or, in dry-run,
// only reports it), keeping every budget in object status so that restarts and leader changes
// never reset one.
package evictor
