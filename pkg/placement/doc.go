// Package placement answers one question for every part of the Rebalancer: which node would this
// scheduler pick for this pod, given this cluster state? The planner asks it to confirm each move,
// the what-if simulator to place each replacement, the decision benchmark to score its runs.
//
// It does not model kube-scheduler: it runs it. An Engine builds one scheduler framework per
// profile of the same KubeSchedulerConfiguration the deployed schedulers read (the default
// profile for pods on the default scheduler, the rebalancer-scheduler profile with
// RebalancerNodeClassFit for ours), from k8s.io/kubernetes' in-tree plugin registry, over the
// scheduler's own Snapshot (k8s.io/kubernetes/pkg/scheduler/backend/cache) of the cluster. A
// Session is that snapshot in a mutation session: moves the planner chooses are applied to it
// and undone when it closes. kubernetes/autoscaler's cluster-autoscaler simulator runs the
// framework the same way.
//
// A Prediction is a set, not a node: kube-scheduler breaks ties between equal top scores at
// random, and in large clusters it scores only a sample of the feasible nodes
// (percentageOfNodesToScore). Possible holds every node the scheduler may pick, and a caller
// that needs a move to be safe requires every one of them to be acceptable.
//
// The package holds no client: the informer factory it is given serves the listers the in-tree
// plugins read (namespaces, Services and controllers for default topology spreading, volumes).
package placement
