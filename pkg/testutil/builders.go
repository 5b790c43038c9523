// Package testutil builds Kubernetes and Rebalancer objects for tests:
//
//	testutil.Pod("web-1").Namespace("prod").Node("n1").CPU("200m").Memory("256Mi").OwnedBy("ReplicaSet", "web").Obj()
package testutil

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Epoch is the creation time builders give objects unless told otherwise.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// PodBuilder builds a Running, Ready pod with one container.
type PodBuilder struct{ p *corev1.Pod }

// Pod starts a pod named name in namespace "default", Running and Ready since Epoch.
func Pod(name string) *PodBuilder {
	return &PodBuilder{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(Epoch), Labels: map[string]string{},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			StartTime:  ptr.To(metav1.NewTime(Epoch)),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(Epoch)}},
		},
	}}
}

// Namespace sets the namespace.
func (b *PodBuilder) Namespace(ns string) *PodBuilder { b.p.Namespace = ns; return b }

// Node binds the pod to a node.
func (b *PodBuilder) Node(n string) *PodBuilder { b.p.Spec.NodeName = n; return b }

// Label sets a label.
func (b *PodBuilder) Label(k, v string) *PodBuilder { b.p.Labels[k] = v; return b }

// OptIn sets the opt-in label rebalancer=ok.
func (b *PodBuilder) OptIn() *PodBuilder {
	return b.Label(v1alpha1.OptInLabelKey, v1alpha1.OptInLabelValue)
}

// Annotation sets an annotation.
func (b *PodBuilder) Annotation(k, v string) *PodBuilder {
	if b.p.Annotations == nil {
		b.p.Annotations = map[string]string{}
	}
	b.p.Annotations[k] = v
	return b
}

// CPU sets the first container's CPU request.
func (b *PodBuilder) CPU(q string) *PodBuilder { return b.request(corev1.ResourceCPU, q) }

// Memory sets the first container's memory request.
func (b *PodBuilder) Memory(q string) *PodBuilder { return b.request(corev1.ResourceMemory, q) }

func (b *PodBuilder) request(r corev1.ResourceName, q string) *PodBuilder {
	c := &b.p.Spec.Containers[0]
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	c.Resources.Requests[r] = resource.MustParse(q)
	return b
}

// EphemeralStorageLimit sets the first container's ephemeral-storage limit.
func (b *PodBuilder) EphemeralStorageLimit(q string) *PodBuilder {
	c := &b.p.Spec.Containers[0]
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	c.Resources.Limits[corev1.ResourceEphemeralStorage] = resource.MustParse(q)
	return b
}

// OwnedBy sets a controller owner reference.
func (b *PodBuilder) OwnedBy(kind, name string) *PodBuilder {
	apiVersion := "apps/v1"
	if kind == "Job" {
		apiVersion = "batch/v1"
	}
	if kind == "Node" {
		apiVersion = "v1"
	}
	b.p.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + kind + "-" + name), Controller: ptr.To(true),
	}}
	return b
}

// Priority sets the pod's priority and, when given, its PriorityClass name.
func (b *PodBuilder) Priority(p int32, className string) *PodBuilder {
	b.p.Spec.Priority = ptr.To(p)
	b.p.Spec.PriorityClassName = className
	return b
}

// Phase sets the pod phase.
func (b *PodBuilder) Phase(ph corev1.PodPhase) *PodBuilder { b.p.Status.Phase = ph; return b }

// NotReady marks the pod not Ready.
func (b *PodBuilder) NotReady() *PodBuilder {
	b.p.Status.Conditions[0].Status = corev1.ConditionFalse
	return b
}

// ReadySince sets when the pod became Ready.
func (b *PodBuilder) ReadySince(t time.Time) *PodBuilder {
	b.p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t)
	return b
}

// Created sets the creation and start time.
func (b *PodBuilder) Created(t time.Time) *PodBuilder {
	b.p.CreationTimestamp = metav1.NewTime(t)
	b.p.Status.StartTime = ptr.To(metav1.NewTime(t))
	return b
}

// Terminating sets a deletion timestamp.
func (b *PodBuilder) Terminating() *PodBuilder {
	b.p.DeletionTimestamp = ptr.To(metav1.NewTime(Epoch))
	return b
}

// EmptyDir adds an emptyDir volume; sizeLimit "" leaves it unsized, medium Memory when memory is true.
func (b *PodBuilder) EmptyDir(name, sizeLimit string, memory bool) *PodBuilder {
	src := &corev1.EmptyDirVolumeSource{}
	if sizeLimit != "" {
		src.SizeLimit = ptr.To(resource.MustParse(sizeLimit))
	}
	if memory {
		src.Medium = corev1.StorageMediumMemory
	}
	b.p.Spec.Volumes = append(b.p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}})
	return b
}

// PVC adds a PersistentVolumeClaim volume.
func (b *PodBuilder) PVC(claim string) *PodBuilder {
	b.p.Spec.Volumes = append(b.p.Spec.Volumes, corev1.Volume{Name: claim, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
	}})
	return b
}

// NodeSelector sets a nodeSelector entry.
func (b *PodBuilder) NodeSelector(k, v string) *PodBuilder {
	if b.p.Spec.NodeSelector == nil {
		b.p.Spec.NodeSelector = map[string]string{}
	}
	b.p.Spec.NodeSelector[k] = v
	return b
}

// Toleration adds a toleration for key=value with the given effect.
func (b *PodBuilder) Toleration(key, value string, effect corev1.TaintEffect) *PodBuilder {
	b.p.Spec.Tolerations = append(b.p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: effect})
	return b
}

// SchedulerName sets the scheduler name.
func (b *PodBuilder) SchedulerName(s string) *PodBuilder { b.p.Spec.SchedulerName = s; return b }

// Obj returns the pod.
func (b *PodBuilder) Obj() *corev1.Pod { return b.p }

// NodeBuilder builds a Ready node.
type NodeBuilder struct{ n *corev1.Node }

// Node starts a Ready, schedulable node with 4 CPUs, 16Gi of memory and room for 110 pods.
func Node(name string) *NodeBuilder {
	return &NodeBuilder{n: &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-node-" + name), CreationTimestamp: metav1.NewTime(Epoch),
			Labels: map[string]string{corev1.LabelHostname: name, corev1.LabelArchStable: "amd64"}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		},
	}}
}

// Allocatable sets allocatable CPU and memory.
func (b *NodeBuilder) Allocatable(cpu, memory string) *NodeBuilder {
	b.n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse(cpu)
	b.n.Status.Allocatable[corev1.ResourceMemory] = resource.MustParse(memory)
	return b
}

// MaxPods sets allocatable pods.
func (b *NodeBuilder) MaxPods(n int64) *NodeBuilder {
	b.n.Status.Allocatable[corev1.ResourcePods] = *resource.NewQuantity(n, resource.DecimalSI)
	return b
}

// Label sets a label.
func (b *NodeBuilder) Label(k, v string) *NodeBuilder { b.n.Labels[k] = v; return b }

// Taint adds a taint.
func (b *NodeBuilder) Taint(key, value string, effect corev1.TaintEffect) *NodeBuilder {
	b.n.Spec.Taints = append(b.n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	return b
}

// Unschedulable cordons the node.
func (b *NodeBuilder) Unschedulable() *NodeBuilder { b.n.Spec.Unschedulable = true; return b }

// NotReady marks the node not Ready.
func (b *NodeBuilder) NotReady() *NodeBuilder {
	b.n.Status.Conditions[0].Status = corev1.ConditionFalse
	return b
}

// Obj returns the node.
func (b *NodeBuilder) Obj() *corev1.Node { return b.n }

// PDB returns a PodDisruptionBudget over matchLabels with the given disruptionsAllowed in status.
func PDB(namespace, name string, matchLabels map[string]string, allowed int32) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: matchLabels},
		},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

// StatefulSetOwner is shorthand for OwnedBy("StatefulSet", name).
func (b *PodBuilder) StatefulSetOwner(name string) *PodBuilder { return b.OwnedBy("StatefulSet", name) }

// DaemonSetOwner is shorthand for OwnedBy("DaemonSet", name).
func (b *PodBuilder) DaemonSetOwner(name string) *PodBuilder { return b.OwnedBy("DaemonSet", name) }
