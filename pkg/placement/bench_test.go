package placement_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

var benchNodes = []int{500, 5000}

type benchCluster struct {
	nodes []*corev1.Node
	pods  []placement.Pod
	table *placement.Table
	// pod is a replica of a workload on the busiest node, whose replacement is placed.
	pod *planner.Pod
}

func newBenchCluster(nodes int) benchCluster {
	w := plannertest.Cluster(plannertest.Spec{Seed: 1, Nodes: nodes, PodsPerNode: 30, Replicas: 10, HotFraction: 0.1, OptIn: 0.6, Mixed: true, ServerMemory: "64Gi"})
	c := benchCluster{nodes: w.Snapshot.Nodes, table: &placement.Table{Nodes: map[string]*scoring.PlacementNode{}, Weights: scoring.DefaultWeights}}
	for _, p := range w.Snapshot.Pods {
		c.pods = append(c.pods, p)
		if c.pod == nil && p.Owner != nil && p.Owner.Kind == "ReplicaSet" {
			c.pod = p
		}
	}
	for _, n := range w.Snapshot.Nodes {
		a, _ := scoring.NodeAllocatable(n)
		s := w.Snapshot.Usage.Nodes[n.Name]
		c.table.Nodes[n.Name] = &scoring.PlacementNode{Capacity: scoring.Resources{CPU: float64(a.MilliCPU), Memory: float64(a.Memory)},
			Usage: scoring.Resources{CPU: s.MilliCPU, Memory: s.Memory}, ClassWeight: scoring.NoClassWeight}
	}
	return c
}

// BenchmarkPredict is one confirmation: the real framework filters and scores every node for one
// replacement, at 500 and 5,000 nodes (15,000 and 150,000 pods), for each profile. Run with
// -cpu 1 for the one-core figure (make bench does). The baseline in the same run is
// BenchmarkHandModel: the hand-written model the engine replaced, over the same nodes.
func BenchmarkPredict(b *testing.B) {
	ctx := context.Background()
	configs, err := placement.Configs(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range benchNodes {
		c := newBenchCluster(n)
		engine, err := placement.NewStatic(ctx, configs)
		if err != nil {
			b.Fatal(err)
		}
		sess, err := engine.Open(c.nodes, c.pods, c.table)
		if err != nil {
			b.Fatal(err)
		}
		for _, sched := range []string{placement.DefaultSchedulerName, v1alpha1.SchedulerName} {
			r := c.pod.Replacement()
			r.Spec.SchedulerName = sched
			b.Run(fmt.Sprintf("nodes=%d,pods=%d,scheduler=%s", n, len(c.pods), sched), func(b *testing.B) {
				b.ReportAllocs()
				var p placement.Prediction
				for b.Loop() {
					if p, err = sess.Predict(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(p.Feasible), "feasible")
				b.ReportMetric(float64(len(p.Possible)), "possible")
			})
		}
		sess.Close()
		engine.Close()
	}
}

// BenchmarkOpen is the cost of a session: the scheduler's snapshot of every node and pod, paid
// once per plan that has a move to confirm.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	def, _ := placement.DefaultConfig()
	for _, n := range benchNodes {
		c := newBenchCluster(n)
		engine, err := placement.NewStatic(ctx, []*schedconfig.KubeSchedulerConfiguration{def})
		if err != nil {
			b.Fatal(err)
		}
		// The first session builds the scheduler's view of every pod (framework.PodInfo); the
		// engine keeps it, and later sessions rebuild only the NodeInfos: measured here.
		first, err := engine.Open(c.nodes, c.pods, c.table)
		if err != nil {
			b.Fatal(err)
		}
		first.Close()
		b.Run(fmt.Sprintf("nodes=%d,pods=%d", n, len(c.pods)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sess, err := engine.Open(c.nodes, c.pods, c.table)
				if err != nil {
					b.Fatal(err)
				}
				sess.Close()
			}
		})
		engine.Close()
	}
}

// BenchmarkHandModel is the baseline of BenchmarkPredict: scoring.DefaultSchedulerScore over
// every node with the requests summed beforehand, the model the engine replaced.
func BenchmarkHandModel(b *testing.B) {
	for _, n := range benchNodes {
		c := newBenchCluster(n)
		requested := map[string]scoring.Requests{}
		for _, p := range c.pods {
			sp := p.SchedulingPod()
			requested[sp.Spec.NodeName] = requested[sp.Spec.NodeName].Add(scoring.PodRequests(sp).NonZero())
		}
		b.Run(fmt.Sprintf("nodes=%d,pods=%d", n, len(c.pods)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				best := int64(-1)
				for _, node := range c.nodes {
					a, _ := scoring.NodeAllocatable(node)
					best = max(best, scoring.DefaultSchedulerScore(requested[node.Name], c.pod.Requests.NonZero(), a))
				}
			}
		})
	}
}
