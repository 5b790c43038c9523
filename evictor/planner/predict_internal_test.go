package planner

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// TestPredictorShortlistsColdNodes: hysteresis keeps a node cold for a while after its
// utilisation rose, so a class can have more nodes of lower utilisation that are not cold than
// the shortlist holds. The Rebalancer's score gives a cold node a bonus (scoring.ColdBonus), so
// the fast model must still see it. Without the cold nodes' own list the model picked a full
// Raspberry Pi and judged the move DestinationWouldTurnHot; the engine found the cold server,
// and on a 2,000-node mixed cluster about 300 of a cycle's 420 engine runs went to such overrules.
func TestPredictorShortlistsColdNodes(t *testing.T) {
	capacity := scoring.Resources{CPU: 16000, Memory: 32 << 30}
	alloc := scoring.Requests{MilliCPU: 16000, Memory: 32 << 30}
	node := func(name string, class scoring.Class, score, requested float64) *nodeInfo {
		k8s := &corev1.Node{}
		k8s.Name = name
		k8s.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")}
		n := &nodeInfo{node: k8s, name: name, inScope: true, ready: true, factor: 1, alloc: alloc, hot: 0.75, cold: 0.35, cool: 0.70,
			state: scoring.NodeState{Class: class}, score: score, predicted: score, pressure: score, predictedP: score}
		n.place = scoring.PlacementNode{Capacity: capacity, Usage: scoring.Resources{CPU: score * capacity.CPU, Memory: score * capacity.Memory},
			ClassWeight: 0.5, Cold: class == scoring.Cold}
		n.load = scoring.NodeLoad{Requested: scoring.Requests{MilliCPU: int64(requested * 16000), Memory: int64(requested * float64(32<<30))}, Allocatable: alloc, MaxPods: 110}
		return n
	}
	src := node("hot-0", scoring.Hot, 0.9, 0.5)
	for _, tc := range []struct {
		name string
		// others are nodes that are not cold, each below the cold node in utilisation and in
		// requested fraction.
		others int
	}{
		{name: "fewer nodes of lower utilisation than the shortlist holds", others: shortlistSize - 1},
		{name: "as many as it holds", others: shortlistSize},
		{name: "twice as many", others: 2 * shortlistSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scope := []*nodeInfo{src}
			for i := range tc.others {
				scope = append(scope, node(fmt.Sprintf("normal-%02d", i), scoring.Normal, 0.30, 0.10))
			}
			// Cold by its earlier readings, utilisation since risen to 0.40.
			coldNode := node("cold-0", scoring.Cold, 0.40, 0.40)
			scope = append(scope, coldNode)
			pr := newPredictor(scope, scoring.DefaultWeights)
			pod := &Pod{Shape: &Shape{Scheduling: &Scheduling{SchedulerName: v1alpha1.SchedulerName, Constraints: &scoring.Constraints{}}}, Requests: scoring.Requests{MilliCPU: 200, Memory: 256 << 20}}
			c := &proposal{candidate: candidate{pod: pod}, node: src, usage: scoring.Resources{CPU: 300, Memory: 300 << 20}}

			// The model's own score prefers the cold node over every other: 65 for a node that is
			// not cold, 60 + ColdBonus 25 = 85 for the cold one.
			want := pr.score(c, coldNode)
			for _, n := range scope[1 : len(scope)-1] {
				if s := pr.score(c, n); s >= want {
					t.Fatalf("test setup: %s scores %d, the cold node %d", n.name, s, want)
				}
			}
			if got := pr.predict(c); got != coldNode {
				name := "<nil>"
				if got != nil {
					name = got.name
				}
				t.Errorf("predicted %s (score %d), want %s (score %d)", name, pr.score(c, got), coldNode.name, want)
			}
		})
	}
}
