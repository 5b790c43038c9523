package scheduler

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/usage"
	"github.com/tinorodney/rebalancer/plugins/nodeclassfit"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

const gi = 1 << 30

// TestScheduler runs the scheduler, configured from manifests/scheduler, against the real API
// server. The cluster: two x86 nodes (8 cores, 16Gi, NodeClass x86: weight 60, capacityFactor 1,
// prefers cpu-bound) and two Raspberry Pi 4 nodes (4 cores, 8Gi, NodeClass rpi4: weight 40,
// capacityFactor 0.5, prefers memory-bound). Usage comes from a static source:
//
//	x86-a  800m, 2Gi   the emptiest node, but the evictor's status calls it hot
//	x86-b  4000m, 8Gi
//	rpi-a  1000m, 2Gi  (500 reference millicores of 2000)
//	rpi-b  1500m, 3Gi
func TestScheduler(t *testing.T) {
	ctx := context.Background()
	cs := clientset(t)
	ns := createNamespace(t, cs, "sched-test")

	x86 := map[string]string{"kubernetes.io/arch": "amd64", "rebalancer.test/suite": "scheduler"}
	arm := map[string]string{"kubernetes.io/arch": "arm64", "rebalancer.test/suite": "scheduler"}
	for _, n := range []*corev1.Node{
		testNode("x86-a", "8", "16Gi", x86), testNode("x86-b", "8", "16Gi", x86),
		testNode("rpi-a", "4", "8Gi", arm), testNode("rpi-b", "4", "8Gi", arm),
	} {
		if err := createNode(ctx, cs, n); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = deleteNodes(ctx, cs, "rebalancer.test/suite=scheduler") })

	classes := []*v1alpha1.NodeClass{
		nodeClass("x86", 60, 1, map[string]string{"kubernetes.io/arch": "amd64"}, v1alpha1.ProfileCPUBound),
		nodeClass("rpi4", 40, 0.5, map[string]string{"kubernetes.io/arch": "arm64"}, v1alpha1.ProfileMemoryBound),
	}
	for _, c := range classes {
		if err := env.Client.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, c) })
	}
	// The evictor's last cycle called x86-a hot: it evicted web's pod from there.
	policy := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if err := env.Client.Create(ctx, policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, policy) })
	policy.Status.HotNodeNames = []string{"x86-a"}
	policy.Status.HotNodes = 1
	policy.Status.LastCycleTime = ptr.To(metav1.Now())
	if err := env.Client.Status().Update(ctx, policy); err != nil {
		t.Fatal(err)
	}

	// A pod for the default scheduler, which is not running: ours must leave it alone.
	other := testPod(ns, "not-ours", corev1.DefaultSchedulerName, "100m", "64Mi", nil)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	read := func(milliCPU, memGi float64) usage.Sample {
		return usage.Sample{MilliCPU: milliCPU, Memory: memGi * gi, Time: time.Now()}
	}
	src := &usage.Static{Readings: usage.Readings{
		Nodes: map[string]usage.Sample{"x86-a": read(800, 2), "x86-b": read(4000, 8), "rpi-a": read(1000, 2), "rpi-b": read(1500, 3)},
		Pods:  map[types.NamespacedName]usage.Sample{},
	}}
	var snaps snapshotWaiter
	startScheduler(t, schedulerConfig(t, ""), nodeclassfit.WithSource(src), snaps.option())
	snaps.wait(t, func(s nodeclassfit.Summary) bool {
		return s.PolicyFound && s.HotFromStatus && slices.Equal(s.Hot, []string{"x86-a"}) && s.Measured == 4
	})
	before := placements(t)

	nodeOf := func(t *testing.T, p *corev1.Pod) string {
		t.Helper()
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return waitBound(t, cs, ns, p.Name)
	}

	t.Run("a cpu-bound pod lands on the class that prefers cpu-bound, not on the hot node", func(t *testing.T) {
		// x86-b: projected ((4000+1000)/8000 + (8+1)/16)/2 = 0.59 -> 64; rpi-a: 37; x86-a is hot (<10).
		p := testPod(ns, "cpu-bound", v1alpha1.SchedulerName, "1", "1Gi", map[string]string{v1alpha1.ProfileKey: "cpu-bound"})
		if got := nodeOf(t, p); got != "x86-b" {
			t.Errorf("cpu-bound pod on %s, want x86-b", got)
		}
	})

	t.Run("the replacement of a pod evicted from the hot node lands elsewhere", func(t *testing.T) {
		// Without the evictor's status x86-a would score 85, the best by far.
		p := testPod(ns, "web-replacement", v1alpha1.SchedulerName, "1", "1Gi", map[string]string{v1alpha1.ProfileKey: "cpu-bound"})
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "web-rs-uid", Controller: ptr.To(true)}}
		if got := nodeOf(t, p); got == "x86-a" {
			t.Errorf("the replacement went back to the hot node %s", got)
		}
	})

	t.Run("a memory-bound pod lands on the class that prefers memory-bound", func(t *testing.T) {
		p := testPod(ns, "memory-bound", v1alpha1.SchedulerName, "500m", "2Gi", map[string]string{v1alpha1.ProfileKey: "memory-bound"})
		if got := nodeOf(t, p); !strings.HasPrefix(got, "rpi-") {
			t.Errorf("memory-bound pod on %s, want an rpi4 node", got)
		}
	})

	t.Run("pods for another scheduler are left Pending and untouched", func(t *testing.T) {
		time.Sleep(2 * time.Second) // the scheduler has had every chance to pick it up
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "not-ours", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending || len(p.Status.Conditions) != 0 {
			t.Errorf("pod not-ours was touched: node %q, phase %s, conditions %v", p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
		}
	})

	t.Run("placements are counted by NodeClass and classification", func(t *testing.T) {
		after := placements(t)
		if d := after["x86/normal"] - before["x86/normal"]; d != 2 {
			t.Errorf("placements on x86/normal grew by %v, want 2 (%v)", d, after)
		}
		if d := after["rpi4/normal"] - before["rpi4/normal"]; d != 1 {
			t.Errorf("placements on rpi4/normal grew by %v, want 1 (%v)", d, after)
		}
	})

	t.Run("once the evictor's status is stale the plugin classifies by readings, and x86-a is open again", func(t *testing.T) {
		// 10m old with spec.interval 1m: past 3 x interval.
		policy.Status.LastCycleTime = ptr.To(metav1.NewTime(time.Now().Add(-10 * time.Minute)))
		if err := env.Client.Status().Update(ctx, policy); err != nil {
			t.Fatal(err)
		}
		snaps.wait(t, func(s nodeclassfit.Summary) bool { return !s.HotFromStatus && len(s.Hot) == 0 })
		p := testPod(ns, "cpu-bound-2", v1alpha1.SchedulerName, "1", "1Gi", map[string]string{v1alpha1.ProfileKey: "cpu-bound"})
		if got := nodeOf(t, p); got != "x86-a" {
			t.Errorf("cpu-bound pod on %s, want x86-a, the emptiest x86 node, now that it is not hot", got)
		}
	})
}

// placements reads rebalancer_scheduler_placements_total from kube-scheduler's registry, by
// "nodeclass/classification".
func placements(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != metrics.PlacementsName {
			continue
		}
		for _, m := range f.GetMetric() {
			out[label(m, metrics.LabelNodeClass)+"/"+label(m, metrics.LabelClassification)] = m.GetCounter().GetValue()
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func nodeClass(name string, weight int32, factor float64, sel map[string]string, profiles ...v1alpha1.WorkloadProfile) *v1alpha1.NodeClass {
	return &v1alpha1.NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.NodeClassSpec{
			NodeSelector: &metav1.LabelSelector{MatchLabels: sel}, Weight: ptr.To(weight),
			CapacityFactor: ptr.To(factor), PreferredProfiles: profiles,
		},
	}
}

// TestBadArgsStopTheScheduler: the scheduler refuses to start with bad args and says why, every
// problem at once; an unknown field is a strict decoding error.
func TestBadArgsStopTheScheduler(t *testing.T) {
	base := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: rebalancer-scheduler
    plugins:
      multiPoint:
        enabled:
          - name: RebalancerNodeClassFit
            weight: 5
    pluginConfig:
      - name: RebalancerNodeClassFit
        args:
`
	tests := []struct {
		name string
		args string
		want []string
	}{
		{
			name: "invalid values",
			args: "          placementWeights: {headroom: 0, classWeight: 0, profile: 0}\n          policyName: Not_A_Name\n          usageRefreshInterval: 100ms\n",
			want: []string{`initializing plugin "RebalancerNodeClassFit"`, "invalid RebalancerNodeClassFitArgs", "placementWeights: Invalid value", "policyName: Invalid value", "usageRefreshInterval: Invalid value"},
		},
		{
			name: "unknown field",
			args: "          policyName: default\n          hotThreshold: 0.9\n",
			want: []string{"strict decoding error", `unknown field "hotThreshold"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := setup(context.Background(), schedulerConfig(t, base+tc.args))
			if err == nil {
				s.stop()
				t.Fatal("the scheduler started with bad args")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestManifestLeaderElection checks the lease the deployed scheduler takes: its own, never the
// default scheduler's.
func TestManifestLeaderElection(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "manifests", "scheduler", "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		LeaderElection struct {
			LeaderElect       bool   `json:"leaderElect"`
			ResourceNamespace string `json:"resourceNamespace"`
			ResourceName      string `json:"resourceName"`
		} `json:"leaderElection"`
		Profiles []struct {
			SchedulerName string `json:"schedulerName"`
		} `json:"profiles"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	le := cfg.LeaderElection
	if !le.LeaderElect || le.ResourceNamespace != "kube-system" || le.ResourceName != "rebalancer-scheduler" {
		t.Errorf("leaderElection = %+v, want leaderElect on kube-system/rebalancer-scheduler", le)
	}
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName != v1alpha1.SchedulerName {
		t.Errorf("profiles = %+v, want one, %s", cfg.Profiles, v1alpha1.SchedulerName)
	}
}
