package scoring

import (
	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// PodRequests are the pod's effective CPU and memory requests as the scheduler counts them
// (init containers, sidecars, pod-level resources and overhead included), computed by
// k8s.io/component-helpers. Pods with plain containers only, the vast majority, take a path that
// sums the containers' requests without allocating; a test checks both paths agree.
func PodRequests(pod *corev1.Pod) Requests {
	if len(pod.Spec.InitContainers) == 0 && pod.Spec.Overhead == nil && pod.Spec.Resources == nil {
		var r Requests
		for i := range pod.Spec.Containers {
			req := pod.Spec.Containers[i].Resources.Requests
			if q, ok := req[corev1.ResourceCPU]; ok {
				r.MilliCPU += q.MilliValue()
			}
			if q, ok := req[corev1.ResourceMemory]; ok {
				r.Memory += q.Value()
			}
		}
		return r
	}
	rl := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	return Requests{MilliCPU: rl.Cpu().MilliValue(), Memory: rl.Memory().Value()}
}

// NodeAllocatable is the node's allocatable CPU, memory and pod count.
func NodeAllocatable(node *corev1.Node) (Requests, int64) {
	a := node.Status.Allocatable
	return Requests{MilliCPU: a.Cpu().MilliValue(), Memory: a.Memory().Value()}, a.Pods().Value()
}
