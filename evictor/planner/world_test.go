package planner_test

import (
	"fmt"
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
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

// now is the planning time in tests: a day after testutil.Epoch, so builder pods are old enough.
var now = testutil.Epoch.Add(24 * time.Hour)

// world is a cluster and a policy for planner tests.
type world struct {
	// snap is the cluster but its pods, which are in pods: tests change them before planning.
	snap   planner.Snapshot
	pods   []*corev1.Pod
	policy *v1alpha1.RebalancePolicy
	slos   []*v1alpha1.WorkloadSLO
	state  planner.State
}

func newWorld() *world {
	return &world{
		snap: planner.Snapshot{Usage: planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}},
		policy: &v1alpha1.RebalancePolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.RebalancePolicySpec{
				DryRun:     ptr.To(false),
				Hysteresis: &v1alpha1.Hysteresis{ConsecutiveReadings: 1, Margin: ptr.To(0.05)},
			},
		},
	}
}

// node adds a node with allocatable 4 CPUs and 16Gi and a usage reading taken now.
func (w *world) node(name string, milliCPU, memGi float64, mod ...func(*testutil.NodeBuilder)) {
	b := testutil.Node(name)
	for _, m := range mod {
		m(b)
	}
	n := b.Obj()
	w.snap.Nodes = append(w.snap.Nodes, n)
	w.snap.Usage.Nodes[name] = planner.Sample{MilliCPU: milliCPU, Memory: memGi * (1 << 30), Time: now}
}

// pod adds a pod with a usage reading equal to the given usage.
func (w *world) pod(b *testutil.PodBuilder, milliCPU, memGi float64) {
	p := b.Obj()
	w.pods = append(w.pods, p)
	w.snap.Usage.Pods[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = planner.Sample{MilliCPU: milliCPU, Memory: memGi * (1 << 30), Time: now}

}

// replicas adds n opted-in pods of one ReplicaSet on the given nodes (round robin).
// Every replica is in namespace prod.
func (w *world) replicas(rs string, n int, milliCPU, memGi float64, nodes ...string) {
	for i := 0; i < n; i++ {
		b := testutil.Pod(fmt.Sprintf("%s-%d", rs, i)).Namespace("prod").Node(nodes[i%len(nodes)]).OptIn().Label("app", rs).
			OwnedBy("ReplicaSet", rs).CPU(fmt.Sprintf("%dm", int(milliCPU))).Memory(fmt.Sprintf("%dMi", int(memGi*1024)))
		w.pod(b, milliCPU, memGi)
	}
}

func (w *world) pdb(p *policyv1.PodDisruptionBudget) { w.snap.PDBs = append(w.snap.PDBs, p) }

// slo adds a WorkloadSLO in namespace prod over pods labelled app.
func (w *world) slo(name string, app string, mod func(*v1alpha1.WorkloadSLO)) {
	s := &v1alpha1.WorkloadSLO{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name},
		Spec: v1alpha1.WorkloadSLOSpec{
			Selector:              &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			MaxDisruptionsPerHour: ptr.To[int32](1),
			ReadinessWindow:       &metav1.Duration{Duration: 5 * time.Minute},
		},
	}
	if mod != nil {
		mod(s)
	}
	w.slos = append(w.slos, s)
}

// snapshot is the cluster with the planner's view of the pods as they are now.
func (w *world) snapshot() planner.Snapshot {
	s := w.snap
	s.Pods = planner.NewPods(w.pods)
	return s
}

func (w *world) plan() planner.Result {
	return planner.Plan(w.snapshot(), w.policy, w.slos, w.state, now)
}

func (w *world) eligibility(cfg planner.Config) *planner.Eligibility {
	s := w.snapshot()
	return planner.NewEligibility(&s, cfg, w.policy, w.slos, w.state, now)
}

func codes(rs []planner.Reason) []planner.ReasonCode {
	var out []planner.ReasonCode
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func heldBack(res planner.Result, pod string) *planner.HeldBack {
	for i := range res.HeldBack {
		if res.HeldBack[i].Pod.Name == pod {
			return &res.HeldBack[i]
		}
	}
	return nil
}

func priorityClass(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
}

func resourceQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func intstrInt(v int32) intstr.IntOrString { return intstr.FromInt32(v) }

func rateLimits(perCycle int32) *v1alpha1.RateLimits {
	return &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To(perCycle), MaxEvictionsPerNodePerCycle: ptr.To(perCycle), MaxEvictionsPerHour: ptr.To(perCycle * 10)}
}
