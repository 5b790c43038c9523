package evictor

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// TrimPod keeps only what the planner and executor read, so the cache holds tens of thousands of
// pods cheaply: identity, labels, annotations (but kubectl's last-applied copy), the controller
// owner, scheduling constraints, the pod's effective requests as one container, the volumes that
// decide local storage and statefulness, and phase, readiness and start time.
// It is a cache transform (cache.Options.ByObject[...].Transform).
func TrimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Generation: p.Generation, CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
			Labels: p.Labels, OwnerReferences: controllerOnly(p.OwnerReferences),
			Annotations: trimAnnotations(p.Annotations),
		},
		Spec: corev1.PodSpec{
			NodeName: p.Spec.NodeName, SchedulerName: p.Spec.SchedulerName,
			Priority: p.Spec.Priority, PriorityClassName: p.Spec.PriorityClassName,
			NodeSelector: p.Spec.NodeSelector, Tolerations: p.Spec.Tolerations,
			Containers: effectiveContainer(p),
			Volumes:    trimVolumes(p.Spec.Volumes),
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase, StartTime: p.Status.StartTime, Conditions: readyOnly(p.Status.Conditions)},
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		out.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
		}}
	}
	return out, nil
}

// lastApplied is kubectl's copy of the whole object: often the largest annotation, never read.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func trimAnnotations(a map[string]string) map[string]string {
	if _, ok := a[lastApplied]; !ok {
		return a
	}
	out := make(map[string]string, len(a)-1)
	for k, v := range a {
		if k != lastApplied {
			out[k] = v
		}
	}
	return out
}

func controllerOnly(refs []metav1.OwnerReference) []metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return refs[i : i+1]
		}
	}
	return nil
}

// effectiveContainer folds the pod's containers, init containers, sidecars, pod-level resources
// and overhead into one container that requests what the scheduler counts for the whole pod
// (scoring.PodRequests) and, when every container has one, carries the sum of their
// ephemeral-storage limits. The planner reads nothing else from containers, and one container
// with one small map costs far less than the pod's own.
func effectiveContainer(p *corev1.Pod) []corev1.Container {
	r := scoring.PodRequests(p)
	c := corev1.Container{Name: "effective", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(r.MilliCPU, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(r.Memory, resource.BinarySI),
	}}}
	var storage int64
	for i := range p.Spec.Containers {
		q, ok := p.Spec.Containers[i].Resources.Limits[corev1.ResourceEphemeralStorage]
		if !ok {
			storage = -1
			break
		}
		storage += q.Value()
	}
	if storage >= 0 && len(p.Spec.Containers) > 0 {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: *resource.NewQuantity(storage, resource.BinarySI)}
	}
	return []corev1.Container{c}
}

func trimVolumes(vs []corev1.Volume) []corev1.Volume {
	var out []corev1.Volume
	for i := range vs {
		v := &vs[i]
		switch {
		case v.EmptyDir != nil:
			out = append(out, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{EmptyDir: v.EmptyDir}})
		case v.PersistentVolumeClaim != nil:
			out = append(out, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: v.PersistentVolumeClaim}})
		case v.Ephemeral != nil:
			// The claim template is not needed, only that the volume is PVC-backed.
			out = append(out, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}})
		}
	}
	return out
}

func readyOnly(cs []corev1.PodCondition) []corev1.PodCondition {
	for i := range cs {
		if cs[i].Type == corev1.PodReady {
			return []corev1.PodCondition{{Type: cs[i].Type, Status: cs[i].Status, LastTransitionTime: cs[i].LastTransitionTime}}
		}
	}
	return nil
}

// TrimNode keeps a node's identity, labels, taints, schedulability, allocatable and readiness.
func TrimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{
		TypeMeta: n.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion,
			CreationTimestamp: n.CreationTimestamp, Labels: n.Labels, Annotations: trimAnnotations(n.Annotations)},
		Spec:   corev1.NodeSpec{Unschedulable: n.Spec.Unschedulable, Taints: n.Spec.Taints},
		Status: corev1.NodeStatus{Allocatable: n.Status.Allocatable, Capacity: n.Status.Capacity},
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return out, nil
}
