package planner_test

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

var benchSizes = []struct{ nodes, podsPerNode int }{{500, 30}, {5000, 30}}

func benchWorld(nodes, podsPerNode int) plannertest.World {
	return plannertest.Cluster(plannertest.Spec{Seed: 1, Nodes: nodes, PodsPerNode: podsPerNode, Replicas: 10, HotFraction: 0.1, OptIn: 0.6, Mixed: true, ServerMemory: "64Gi"})
}

// uniformWorld is benchWorld without the Raspberry Pis: only the tenth of the nodes given extra
// load is hot, where the mixed cluster has most of its Pis hot too. A plan's cost grows with the
// pods on hot nodes, which it checks one by one.
func uniformWorld(nodes, podsPerNode int) plannertest.World {
	return plannertest.Cluster(plannertest.Spec{Seed: 1, Nodes: nodes, PodsPerNode: podsPerNode, Replicas: 10, HotFraction: 0.1, OptIn: 0.6, ServerMemory: "64Gi"})
}

// busyWorld is benchWorld with the rate limits raised to 100 moves a cycle and destinations
// NotHot: normal nodes may receive too, so that a hundred moves are made, not only as many as the
// cold nodes take.
func busyWorld(nodes, podsPerNode int) plannertest.World {
	return busy(benchWorld(nodes, podsPerNode))
}

func busy(w plannertest.World) plannertest.World {
	w.Policy.Spec.RateLimits = rateLimits(100)
	w.Policy.Spec.Destinations = ptr.To(v1alpha1.DestinationsNotHot)
	return w
}

// BenchmarkPlan measures one plan at the Kubernetes scalability limits: 500 nodes / 15,000 pods
// and 5,000 nodes / 150,000 pods (a third of them 4-CPU Raspberry Pis, a tenth given extra load;
// 313 of 500 and 3,089 of 5,000 nodes end up hot, most on CPU), 60% of workloads opted in, the
// rate limits raised and destinations NotHot so the greedy selection does real work (100 moves).
// The uniform runs are the same clusters without the Pis, where only the nodes given extra load
// are hot.
func BenchmarkPlan(b *testing.B) {
	for _, sz := range benchSizes {
		name := fmt.Sprintf("nodes=%d,pods=%d", sz.nodes, sz.nodes*sz.podsPerNode)
		worlds := []struct {
			name string
			make func() plannertest.World
		}{
			{name, func() plannertest.World { return busyWorld(sz.nodes, sz.podsPerNode) }},
			{name + ",uniform", func() plannertest.World { return busy(uniformWorld(sz.nodes, sz.podsPerNode)) }},
		}
		for _, bw := range worlds {
			b.Run(bw.name, func(b *testing.B) {
				w := bw.make() // b.Loop times only the loop
				b.ReportAllocs()
				var res planner.Result
				for b.Loop() {
					res = planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
				}
				b.ReportMetric(float64(len(res.Moves)), "moves")
				b.ReportMetric(float64(res.HotNodes), "hot-nodes")
			})
		}
	}
}

// BenchmarkPlanConfirmed is BenchmarkPlan with every move confirmed by the placement engine
// (pkg/placement): the scheduler's snapshot of every node and pod is built once per plan, then
// each move's replacement is placed by the real framework of its scheduler (the default profile
// here, as the generated pods name none). The difference to BenchmarkPlan is what confirmation
// costs a cycle.
func BenchmarkPlanConfirmed(b *testing.B) {
	for _, sz := range benchSizes {
		w := busyWorld(sz.nodes, sz.podsPerNode)
		engine := benchEngine(b)
		w.Snapshot.Placement = engine
		b.Run(fmt.Sprintf("nodes=%d,pods=%d", sz.nodes, sz.nodes*sz.podsPerNode), func(b *testing.B) {
			b.ReportAllocs()
			var res planner.Result
			for b.Loop() {
				res = planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
			}
			b.ReportMetric(float64(len(res.Moves)), "moves")
			b.ReportMetric(float64(res.HeldBackByReason()[planner.ReasonUncertainDestination]), "uncertain")
		})
		_ = engine.Close()
	}
}

func benchEngine(b *testing.B) *placement.Engine {
	b.Helper()
	configs, err := placement.Configs(nil)
	if err != nil {
		b.Fatal(err)
	}
	e, err := placement.NewStatic(context.Background(), configs)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkSnapshotScan is the baseline for BenchmarkPlan in the same run: one pass over every
// pod summing requests per node, the least work any planner must do on the same snapshot.
func BenchmarkSnapshotScan(b *testing.B) {
	for _, sz := range benchSizes {
		w := benchWorld(sz.nodes, sz.podsPerNode)
		b.Run(fmt.Sprintf("nodes=%d,pods=%d", sz.nodes, sz.nodes*sz.podsPerNode), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				load := make(map[string]scoring.Requests, len(w.Snapshot.Nodes))
				for _, p := range w.Snapshot.Pods {
					load[p.NodeName] = load[p.NodeName].Add(p.Requests)
				}
			}
		})
	}
}
