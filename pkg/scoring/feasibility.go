package scoring

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Constraints are the parts of a pod that decide which nodes it may run on, parsed once so that
// checking many nodes costs little. The pods of one workload have the same constraints, so one
// value may serve them all: it is never modified after NewConstraints.
type Constraints struct {
	tolerations []corev1.Toleration
	affinity    nodeaffinity.RequiredNodeAffinity
}

// NewConstraints parses the pod's node selector, required node affinity and tolerations.
func NewConstraints(pod *corev1.Pod) *Constraints {
	return &Constraints{
		tolerations: pod.Spec.Tolerations,
		affinity:    nodeaffinity.GetRequiredNodeAffinity(pod),
	}
}

// NodeLoad is what is already placed on a node, as the scheduler counts it.
type NodeLoad struct {
	// Requested is the sum of the requests of the pods on the node.
	Requested Requests
	// Pods is how many pods are on the node.
	Pods int64
	// Allocatable and MaxPods, when Allocatable is set, save reading them from the node on every
	// check (NodeAllocatable).
	Allocatable Requests
	MaxPods     int64
}

// Infeasible says why a pod cannot go to a node; the empty string means it can.
type Infeasible string

// Feasible checks whether a pod with these constraints and the given requests may be placed on
// node, as the scheduler's filters would: the
// node is Ready and schedulable, every NoSchedule and NoExecute taint is tolerated, the node
// matches the pod's nodeSelector and required node affinity (k8s.io/component-helpers), and the
// pod's requests fit in allocatable minus what is already requested:
//
//	fits_r = requested_r + pod_r <= allocatable_r,  for cpu, memory, and pods (+1)
func (c *Constraints) Feasible(node *corev1.Node, load NodeLoad, requests Requests) Infeasible {
	if !NodeReady(node) {
		return "node is not Ready"
	}
	return c.FeasibleReady(node, load, requests)
}

// FeasibleReady is Feasible for a node the caller knows to be Ready (NodeReady), so that checking
// many pods against one node reads its conditions once.
func (c *Constraints) FeasibleReady(node *corev1.Node, load NodeLoad, requests Requests) Infeasible {
	if node.Spec.Unschedulable && !schedulinghelper.TolerationsTolerateTaint(klog.Background(), c.tolerations, &unschedulableTaint, false) {
		return "node is cordoned"
	}
	for i := range node.Spec.Taints {
		t := &node.Spec.Taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !schedulinghelper.TolerationsTolerateTaint(klog.Background(), c.tolerations, t, false) {
			return Infeasible(fmt.Sprintf("untolerated taint %s", t.ToString()))
		}
	}
	if ok, err := c.affinity.Match(node); err != nil || !ok {
		return "node does not match the pod's nodeSelector or required node affinity"
	}
	alloc, maxPods := load.Allocatable, load.MaxPods
	if alloc == (Requests{}) {
		alloc, maxPods = NodeAllocatable(node)
	}
	if load.Requested.MilliCPU+requests.MilliCPU > alloc.MilliCPU {
		return "insufficient cpu"
	}
	if load.Requested.Memory+requests.Memory > alloc.Memory {
		return "insufficient memory"
	}
	if maxPods > 0 && load.Pods+1 > maxPods {
		return "too many pods"
	}
	return ""
}

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(node *corev1.Node) bool {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return node.Status.Conditions[i].Status == corev1.ConditionTrue
		}
	}
	return false
}
