// Package scoring is the arithmetic the Rebalancer's two programs share: how loaded a node is, how
// spread out the nodes are, when a node counts as hot or cold, how good a node is for a pod, and
// whether a pod can go there at all. The scheduler's Score plugin and the evictor's planner both
// call it, so they cannot disagree about what "hot" means.
//
// It does no I/O and knows no program: plain numbers in, plain numbers out, plus the API types of
// pods and nodes for feasibility. Each formula is written in a comment above its code.
//
// Units: CPU is counted in reference millicores. A node offers allocatable x capacityFactor (its
// NodeClass's per-core speed against a reference server core); a pod measured using c millicores
// on a node of factor f needs c x f reference millicores anywhere. A node's own utilisation is
// unchanged by this; what changes is the prediction for a pod that moves between classes.
// Memory is in bytes.
package scoring
