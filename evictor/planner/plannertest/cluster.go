// Package plannertest generates clusters for the planner's property tests and benchmarks:
// seeded, so every cluster can be made again from its seed.
package plannertest

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// Now is the time the generated readings are taken.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// World is a generated cluster with a policy.
type World struct {
	// Pods are the generated pods; Snapshot.Pods is the planner's view of them.
	Pods     []*corev1.Pod
	Snapshot planner.Snapshot
	Policy   *v1alpha1.RebalancePolicy
	SLOs     []*v1alpha1.WorkloadSLO
	State    planner.State
}

// Spec shapes a generated cluster.
type Spec struct {
	Seed        uint64
	Nodes       int
	PodsPerNode int
	// Replicas per workload; pods of a workload are spread over random nodes.
	Replicas int
	// HotFraction of nodes get extra load that makes them hot.
	HotFraction float64
	// OptIn is the fraction of workloads labelled rebalancer=ok.
	OptIn float64
	// Mixed adds a Raspberry Pi class (capacityFactor 0.5, 4 CPUs, 8Gi) for a third of the nodes.
	Mixed bool
	// ServerMemory is the memory of the 16-CPU server nodes; default 32Gi.
	ServerMemory string
}

// Cluster generates a large, realistic cluster for benchmarks: most pods are plain Deployment
// replicas; a few are DaemonSet, system-critical or pinned; a quarter of workloads have a PDB.
func Cluster(s Spec) World {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	w := World{
		Snapshot: planner.Snapshot{Usage: planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}},
		Policy:   Policy(),
	}
	w.Policy.Spec.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: 1, Margin: ptr.To(0.05)}
	if s.Mixed {
		w.Snapshot.NodeClasses = []*v1alpha1.NodeClass{
			nodeClass("x86", "amd64", 60, 1, v1alpha1.ProfileCPUBound),
			nodeClass("rpi4", "arm64", 30, 0.5, v1alpha1.ProfileBalanced),
		}
	}
	type nodeLoad struct{ cpu, mem float64 }
	loads := make([]nodeLoad, s.Nodes)
	hot := make([]bool, s.Nodes)
	for i := 0; i < s.Nodes; i++ {
		name := fmt.Sprintf("node-%05d", i)
		cpu, mem := "16", s.ServerMemory
		if mem == "" {
			mem = "32Gi"
		}
		arch := "amd64"
		if s.Mixed && i%3 == 2 {
			cpu, mem, arch = "4", "8Gi", "arm64"
		}
		w.Snapshot.Nodes = append(w.Snapshot.Nodes, node(name, cpu, mem, arch))
		hot[i] = rng.Float64() < s.HotFraction
	}
	nWorkloads := s.Nodes * s.PodsPerNode / max(s.Replicas, 1)
	ns := []string{"prod", "staging", "batch", "web", "data"}
	for wl := 0; wl < nWorkloads; wl++ {
		namespace := ns[wl%len(ns)]
		name := fmt.Sprintf("wl-%05d", wl)
		optIn := rng.Float64() < s.OptIn
		cpuReq := 100 + rng.IntN(400)
		memReq := 128 + rng.IntN(512)
		kind := "ReplicaSet"
		switch r := rng.IntN(100); {
		case r < 2:
			kind = "DaemonSet"
		case r < 4:
			kind = "StatefulSet"
		}
		if rng.IntN(4) == 0 {
			w.Snapshot.PDBs = append(w.Snapshot.PDBs, &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
				Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
				Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: int32(rng.IntN(3))},
			})
		}
		for r := 0; r < s.Replicas; r++ {
			ni := rng.IntN(s.Nodes)
			if s.Mixed && ni%3 == 2 && rng.IntN(4) > 0 {
				ni = rng.IntN(s.Nodes) // a Pi has a quarter of a server's room: it gets fewer pods
			}
			p := pod(fmt.Sprintf("%s-%d", name, r), namespace, w.Snapshot.Nodes[ni].Name, name, kind, cpuReq, memReq)
			if optIn {
				p.Labels[v1alpha1.OptInLabelKey] = v1alpha1.OptInLabelValue
			}
			if rng.IntN(200) == 0 {
				p.Spec.PriorityClassName = "system-cluster-critical"
				p.Spec.Priority = ptr.To[int32](2000000000)
			}
			if rng.IntN(100) == 0 {
				p.Annotations = map[string]string{v1alpha1.DefaultPinnedAnnotation: "true"}
			}
			use := 0.5 + rng.Float64()
			if hot[ni] {
				use *= 1.8
			}
			cpu, mem := float64(cpuReq)*use, float64(memReq)*(1<<20)*use
			loads[ni].cpu += cpu
			loads[ni].mem += mem
			w.Pods = append(w.Pods, p)
			w.Snapshot.Usage.Pods[types.NamespacedName{Namespace: namespace, Name: p.Name}] = planner.Sample{MilliCPU: cpu, Memory: mem, Time: Now}
		}
	}
	for i, n := range w.Snapshot.Nodes {
		// System overhead on top of the pods.
		w.Snapshot.Usage.Nodes[n.Name] = planner.Sample{MilliCPU: loads[i].cpu + 300, Memory: loads[i].mem + 1<<30, Time: Now}
	}
	for _, n := range ns {
		w.Snapshot.Namespaces = append(w.Snapshot.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	w.Snapshot.PriorityClasses = []*schedulingv1.PriorityClass{{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 2000000000}}
	w.Snapshot.Pods = planner.NewPods(w.Pods)
	return w
}

// Policy is a live (not dry-run) policy with the API's defaults.
func Policy() *v1alpha1.RebalancePolicy {
	return &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(Now.Add(-24 * time.Hour))},
		Spec: v1alpha1.RebalancePolicySpec{DryRun: ptr.To(false)}}
}

func node(name, cpu, mem, arch string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name, corev1.LabelArchStable: arch}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse("250")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

func pod(name, namespace, nodeName, app, kind string, milliCPU, memMi int) *corev1.Pod {
	start := metav1.NewTime(Now.Add(-48 * time.Hour))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, UID: types.UID(namespace + "-" + name), CreationTimestamp: start,
			Labels: map[string]string{"app": app},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: app,
				UID: types.UID(namespace + "-" + kind + "-" + app), Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName: nodeName,
			Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(milliCPU), resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(int64(memMi)<<20, resource.BinarySI),
			}}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}},
		},
	}
}

func nodeClass(name, arch string, weight int32, factor float64, profiles ...v1alpha1.WorkloadProfile) *v1alpha1.NodeClass {
	return &v1alpha1.NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.NodeClassSpec{
			NodeSelector:   &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelArchStable: arch}},
			Weight:         ptr.To(weight),
			CapacityFactor: ptr.To(factor),

			PreferredProfiles: profiles,
		},
	}
}

// DefaultHot and DefaultCold are the policy thresholds generated clusters run under.
func DefaultHot() float64 { return v1alpha1.DefaultHotThreshold }

// DefaultCold is the cold threshold generated clusters run under.
func DefaultCold() float64 { return v1alpha1.DefaultColdThreshold }
