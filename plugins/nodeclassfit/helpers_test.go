package nodeclassfit

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/apis/config"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// now is the tests' "now"; readings are taken relative to it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const gi = 1 << 30

// The test cluster's two NodeClasses: x86 servers that suit cpu-bound work, and Raspberry Pi 4
// nodes (half-speed cores) that suit memory-bound work.
func x86Class() *v1alpha1.NodeClass {
	return newNodeClass("x86", 60, 1, now.Add(-time.Hour), map[string]string{"kubernetes.io/arch": "amd64"}, v1alpha1.ProfileCPUBound)
}

func rpiClass() *v1alpha1.NodeClass {
	return newNodeClass("rpi4", 40, 0.5, now.Add(-time.Hour), map[string]string{"kubernetes.io/arch": "arm64"}, v1alpha1.ProfileMemoryBound)
}

func newNodeClass(name string, weight int32, factor float64, created time.Time, sel map[string]string, profiles ...v1alpha1.WorkloadProfile) *v1alpha1.NodeClass {
	return &v1alpha1.NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: v1alpha1.NodeClassSpec{
			NodeSelector:      &metav1.LabelSelector{MatchLabels: sel},
			Weight:            ptr.To(weight),
			CapacityFactor:    ptr.To(factor),
			PreferredProfiles: profiles,
		},
	}
}

// node is a node with 4 cores and 8Gi allocatable and the given arch label ("" for none).
func node(name, arch string) *corev1.Node {
	w := st.MakeNode().Name(name).Capacity(map[corev1.ResourceName]string{corev1.ResourceCPU: "4", corev1.ResourceMemory: "8Gi"})
	if arch != "" {
		w = w.Label("kubernetes.io/arch", arch)
	}
	return w.Obj()
}

// pod is a pod requesting cpu and memory, with a profile label when profile is not "".
func pod(name, cpu, memory, profile string) *corev1.Pod {
	w := st.MakePod().Namespace("default").Name(name).UID(name).SchedulerName(v1alpha1.SchedulerName).
		Req(map[corev1.ResourceName]string{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory})
	if profile != "" {
		w = w.Label(v1alpha1.ProfileKey, profile)
	}
	return w.Obj()
}

// ownedBy makes the pod one of the ReplicaSet's, identified by its UID.
func ownedBy(p *corev1.Pod, rs string) *corev1.Pod {
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID(rs), Controller: ptr.To(true)}}
	return p
}

func on(p *corev1.Pod, nodeName string) *corev1.Pod {
	p.Spec.NodeName = nodeName
	return p
}

func startedAt(p *corev1.Pod, t time.Time) *corev1.Pod {
	p.Status.StartTime = ptr.To(metav1.NewTime(t))
	p.Status.Phase = corev1.PodRunning
	return p
}

// sample is a reading of cpu millicores and memory GiB taken age before now.
func sample(milliCPU, memGi float64, age time.Duration) usage.Sample {
	return usage.Sample{MilliCPU: milliCPU, Memory: memGi * gi, Time: now.Add(-age)}
}

// rebalancePolicy is the "default" policy; with hot set, its status names those nodes hot, as of
// lastCycle.
func rebalancePolicy(lastCycle time.Time, hot ...string) *v1alpha1.RebalancePolicy {
	p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	p.Spec.Interval = &metav1.Duration{Duration: time.Minute}
	if !lastCycle.IsZero() {
		p.Status.LastCycleTime = ptr.To(metav1.NewTime(lastCycle))
		p.Status.HotNodeNames = hot
	}
	return p
}

func defaultArgs() config.RebalancerNodeClassFitArgs {
	a, err := argsFrom(nil)
	if err != nil {
		panic(err)
	}
	return *a
}

// testPlugin is the plugin without its collector, with a snapshot built from in and published.
type testPlugin struct {
	*Plugin
	cls *classifier
}

func newTestPlugin(t testing.TB) *testPlugin {
	t.Helper()
	m, err := registerMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return &testPlugin{
		Plugin: &Plugin{args: defaultArgs(), clock: fakeClock(), metrics: m, lag: newLagTracker(), steer: newSteering(), cancel: func() {}, done: make(chan struct{})},
		cls:    newClassifier(),
	}
}

// publish builds a snapshot as the collector does and publishes it.
func (p *testPlugin) publish(in *buildInput) *snapshot {
	if in.now.IsZero() {
		in.now = now
	}
	if in.placementWeights == (scoring.PlacementWeights{}) {
		in.placementWeights = placement.Weights(p.args.PlacementWeights)
	}
	s := assemble(in, p.cls, p.lag)
	p.snap.Store(s)
	return s
}

// nodeInfo is the scheduler's view of a node with pods on it.
func nodeInfo(n *corev1.Node, pods ...*corev1.Pod) fwk.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(n)
	return ni
}

// scores runs PreScore and Score for pod over nodes, as the framework does, and returns the
// scores by node name.
func (p *testPlugin) scores(t *testing.T, pod *corev1.Pod, nodes []fwk.NodeInfo) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	cs := framework.NewCycleState()
	if s := p.PreScore(ctx, cs, pod, nodes); !s.IsSuccess() {
		t.Fatalf("PreScore: %v", s)
	}
	out := map[string]int64{}
	for _, ni := range nodes {
		score, s := p.Score(ctx, cs, pod, ni)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %v", ni.Node().Name, s)
		}
		out[ni.Node().Name] = score
	}
	return out
}
