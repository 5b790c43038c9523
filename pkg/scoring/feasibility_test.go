package scoring_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

func TestFeasible(t *testing.T) {
	const gi = 1 << 30
	pod := func() *testutil.PodBuilder { return testutil.Pod("p").CPU("1").Memory("1Gi") }
	cases := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		load scoring.NodeLoad
		want scoring.Infeasible
	}{
		{"fits", pod().Obj(), testutil.Node("n").Obj(), scoring.NodeLoad{}, ""},
		{"not ready", pod().Obj(), testutil.Node("n").NotReady().Obj(), scoring.NodeLoad{}, "node is not Ready"},
		{"cordoned", pod().Obj(), testutil.Node("n").Unschedulable().Obj(), scoring.NodeLoad{}, "node is cordoned"},
		{"cordoned, tolerated", pod().Toleration(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule).Obj(),
			testutil.Node("n").Unschedulable().Obj(), scoring.NodeLoad{}, ""},
		{"untolerated NoSchedule taint", pod().Obj(), testutil.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule).Obj(),
			scoring.NodeLoad{}, "untolerated taint dedicated=gpu:NoSchedule"},
		{"untolerated NoExecute taint", pod().Obj(), testutil.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoExecute).Obj(),
			scoring.NodeLoad{}, "untolerated taint dedicated=gpu:NoExecute"},
		{"tolerated taint", pod().Toleration("dedicated", "gpu", corev1.TaintEffectNoSchedule).Obj(),
			testutil.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule).Obj(), scoring.NodeLoad{}, ""},
		{"PreferNoSchedule does not filter", pod().Obj(), testutil.Node("n").Taint("spot", "", corev1.TaintEffectPreferNoSchedule).Obj(), scoring.NodeLoad{}, ""},
		{"nodeSelector mismatch", pod().NodeSelector(corev1.LabelArchStable, "arm64").Obj(), testutil.Node("n").Obj(),
			scoring.NodeLoad{}, "node does not match the pod's nodeSelector or required node affinity"},
		{"nodeSelector match", pod().NodeSelector(corev1.LabelArchStable, "arm64").Obj(), testutil.Node("n").Label(corev1.LabelArchStable, "arm64").Obj(),
			scoring.NodeLoad{}, ""},
		// 3500m requested + 1000m > 4000m allocatable
		{"insufficient cpu", pod().Obj(), testutil.Node("n").Obj(), scoring.NodeLoad{Requested: scoring.Requests{MilliCPU: 3500}}, "insufficient cpu"},
		// 3000m + 1000m = 4000m fits exactly
		{"cpu fits exactly", pod().Obj(), testutil.Node("n").Obj(), scoring.NodeLoad{Requested: scoring.Requests{MilliCPU: 3000}}, ""},
		{"insufficient memory", pod().Obj(), testutil.Node("n").Obj(), scoring.NodeLoad{Requested: scoring.Requests{Memory: 15*gi + 1}}, "insufficient memory"},
		{"too many pods", pod().Obj(), testutil.Node("n").MaxPods(3).Obj(), scoring.NodeLoad{Pods: 3}, "too many pods"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := scoring.NewConstraints(tc.pod).Feasible(tc.node, tc.load, scoring.PodRequests(tc.pod)); got != tc.want {
				t.Errorf("Feasible = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPodRequestsAgreesWithLibrary checks the allocation-free path against k8s.io/component-helpers
// on random pods, with and without init containers, sidecars and overhead.
func TestPodRequestsAgreesWithLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	q := func(max int64, unit string) resource.Quantity {
		return resource.MustParse(itoa(rng.Int64N(max)) + unit)
	}
	for i := 0; i < 2000; i++ {
		p := testutil.Pod("p").Obj()
		p.Spec.Containers = nil
		for c := 0; c < 1+rng.IntN(3); c++ {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + itoa(int64(c)), Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q(4000, "m"), corev1.ResourceMemory: q(4096, "Mi")},
			}})
		}
		if rng.IntN(3) == 0 {
			restart := corev1.ContainerRestartPolicyAlways
			ic := corev1.Container{Name: "init", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q(8000, "m"), corev1.ResourceMemory: q(8192, "Mi")},
			}}
			if rng.IntN(2) == 0 {
				ic.RestartPolicy = &restart
			}
			p.Spec.InitContainers = append(p.Spec.InitContainers, ic)
		}
		if rng.IntN(4) == 0 {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: q(200, "m"), corev1.ResourceMemory: q(128, "Mi")}
		}
		want := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
		got := scoring.PodRequests(p)
		if got.MilliCPU != want.Cpu().MilliValue() || got.Memory != want.Memory().Value() {
			t.Fatalf("pod %d: PodRequests = %+v, library says cpu %s memory %s", i, got, want.Cpu(), want.Memory())
		}
	}
}

func itoa(v int64) string {
	return strconv.FormatInt(v, 10)
}
