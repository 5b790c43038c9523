package nodeclassfit

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	schedulermetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

const benchNodes = 5000

// benchCluster is 5,000 nodes, half x86 and half Raspberry Pi, each running 8 pods, with a
// reading for every node, one node in twenty hot in the evictor's status, and a pod of a
// controller with measured usage to place.
func benchCluster(p *testPlugin) ([]fwk.NodeInfo, *corev1.Pod) {
	nodes := make([]*corev1.Node, benchNodes)
	infos := make([]fwk.NodeInfo, benchNodes)
	readings := usage.Readings{Nodes: map[string]usage.Sample{}, Pods: map[types.NamespacedName]usage.Sample{}}
	var hot []string
	for i := range nodes {
		arch := "amd64"
		if i%2 == 1 {
			arch = "arm64"
		}
		name := fmt.Sprintf("node-%04d", i)
		nodes[i] = node(name, arch)
		pods := make([]*corev1.Pod, 8)
		for j := range pods {
			pods[j] = on(pod(fmt.Sprintf("%s-pod-%d", name, j), "200m", "512Mi", ""), name)
		}
		infos[i] = nodeInfo(nodes[i], pods...)
		readings.Nodes[name] = sample(float64(500+i%3000), 1+float64(i%6), 10*time.Second)
		if i%20 == 0 {
			hot = append(hot, name)
		}
	}
	sibling := on(ownedBy(pod("web-0", "1", "1Gi", "cpu-bound"), "web"), "node-0001")
	readings.Pods[types.NamespacedName{Namespace: "default", Name: "web-0"}] = sample(700, 0.8, 10*time.Second)
	p.publish(&buildInput{
		nodes: nodes, classes: []*v1alpha1.NodeClass{x86Class(), rpiClass()}, policy: rebalancePolicy(now.Add(-time.Minute), hot...),
		readings: readings,
		pod: func(k types.NamespacedName) *corev1.Pod {
			if k.Name == "web-0" {
				return sibling
			}
			return nil
		},
	})
	return infos, ownedBy(pod("web-1", "1", "1Gi", "cpu-bound"), "web")
}

// BenchmarkScore measures one scheduling cycle's worth of scoring, PreScore + Score on each of
// 5,000 nodes + NormalizeScore, for this plugin and for the in-tree
// NodeResourcesBalancedAllocation, in the same run. ns/node is ns/op / 5,000.
func BenchmarkScore(b *testing.B) {
	ctx := context.Background()
	p := newTestPlugin(b)
	infos, pending := benchCluster(p)
	scores := make(fwk.NodeScoreList, len(infos))

	b.Run("plugin=ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cs := framework.NewCycleState()
			if s := p.PreScore(ctx, cs, pending, infos); !s.IsSuccess() {
				b.Fatal(s)
			}
			for i, ni := range infos {
				score, s := p.Score(ctx, cs, pending, ni)
				if !s.IsSuccess() {
					b.Fatal(s)
				}
				scores[i] = fwk.NodeScore{Name: ni.Node().Name, Score: score}
			}
			if s := p.NormalizeScore(ctx, cs, pending, scores); !s.IsSuccess() {
				b.Fatal(s)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchNodes, "ns/node")
	})

	b.Run("plugin=balancedallocation", func(b *testing.B) {
		schedulermetrics.Register()
		fh, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
			tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
			tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
		}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		ba, err := noderesources.NewBalancedAllocation(ctx, &schedconfig.NodeResourcesBalancedAllocationArgs{
			Resources: []schedconfig.ResourceSpec{{Name: string(corev1.ResourceCPU), Weight: 1}, {Name: string(corev1.ResourceMemory), Weight: 1}},
		}, fh, feature.Features{})
		if err != nil {
			b.Fatal(err)
		}
		pl := ba.(*noderesources.BalancedAllocation)
		b.ReportAllocs()
		for b.Loop() {
			cs := framework.NewCycleState()
			if s := pl.PreScore(ctx, cs, pending, infos); !s.IsSuccess() {
				b.Fatal(s)
			}
			for i, ni := range infos {
				score, s := pl.Score(ctx, cs, pending, ni)
				if !s.IsSuccess() {
					b.Fatal(s)
				}
				scores[i] = fwk.NodeScore{Name: ni.Node().Name, Score: score}
			}
			// BalancedAllocation has no NormalizeScore.
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchNodes, "ns/node")
	})
}

// TestScoreDoesNotAllocate holds Score to zero allocations, on nodes with and without a reading,
// hot and not, and on a node the snapshot does not know.
func TestScoreDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	p := newTestPlugin(t)
	infos, pending := benchCluster(p)
	infos = append(infos[:50:50], nodeInfo(node("unknown", "amd64")))
	cs := framework.NewCycleState()
	if s := p.PreScore(ctx, cs, pending, infos); !s.IsSuccess() {
		t.Fatal(s)
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, ni := range infos {
			if _, s := p.Score(ctx, cs, pending, ni); !s.IsSuccess() {
				t.Fatal(s)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Score allocates %v times per %d nodes, want 0", allocs, len(infos))
	}
}
