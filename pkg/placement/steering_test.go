package placement_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

func TestSteers(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return ptr.To(metav1.NewTime(now.Add(d))) }
	entry := func(pod, workload, dest string, expires *metav1.Time) v1alpha1.Disruption {
		return v1alpha1.Disruption{Time: metav1.NewTime(now.Add(-time.Minute)), Namespace: "shop", Pod: pod,
			Workload: workload, Destination: dest, DestinationExpires: expires}
	}
	web := placement.SteerKey{Namespace: "shop", Kind: "ReplicaSet", Name: "web-1"}
	id := func(pod string) string { return "shop/" + pod + "@2026-11-30T11:59:00Z" }
	tests := []struct {
		name   string
		ledger []v1alpha1.Disruption
		want   map[placement.SteerKey][]placement.Steer
	}{
		{name: "no ledger"},
		{name: "a destination without expiry is not a steer (the pod's scheduler does not follow steers)",
			ledger: []v1alpha1.Disruption{entry("a", "ReplicaSet/web-1", "n2", nil)}},
		{name: "expired, or expiring now",
			ledger: []v1alpha1.Disruption{entry("a", "ReplicaSet/web-1", "n2", at(-time.Second)), entry("b", "ReplicaSet/web-1", "n3", at(0))}},
		{name: "no workload", ledger: []v1alpha1.Disruption{entry("a", "", "n2", at(time.Minute))}},
		{name: "standing steers by workload, oldest first",
			ledger: []v1alpha1.Disruption{entry("a", "ReplicaSet/web-1", "n2", at(time.Minute)), entry("b", "ReplicaSet/web-1", "n3", at(2*time.Minute))},
			want: map[placement.SteerKey][]placement.Steer{web: {
				{Node: "n2", Expires: now.Add(time.Minute), ID: id("a")},
				{Node: "n3", Expires: now.Add(2 * time.Minute), ID: id("b")},
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, placement.Steers(tc.ledger, now)); diff != "" {
				t.Errorf("Steers (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestSteeredNode(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	steers := []placement.Steer{
		{Node: "n1", Expires: now.Add(-time.Second), ID: "old"},
		{Node: "n2", Expires: now.Add(time.Minute), ID: "a"},
		{Node: "n3", Expires: now.Add(time.Minute), ID: "b"},
	}
	used := func(ids ...string) func(string) bool { return func(id string) bool { return slices.Contains(ids, id) } }
	tests := []struct {
		name     string
		used     func(string) bool
		feasible []string
		want     string
	}{
		{name: "the first standing steer", want: "n2"},
		{name: "a used steer is skipped", used: used("a"), want: "n3"},
		{name: "an infeasible node is skipped", feasible: []string{"n1", "n3"}, want: "n3"},
		{name: "none left", used: used("a", "b"), want: ""},
		{name: "no feasible steered node", feasible: []string{"n4"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nodes []fwk.NodeInfo
			for _, n := range tc.feasible {
				ni := framework.NewNodeInfo()
				ni.SetNode(testutil.Node(n).Obj())
				nodes = append(nodes, ni)
			}
			if got := placement.SteeredNode(steers, now, tc.used, nodes); got != tc.want {
				t.Errorf("SteeredNode = %q, want %q", got, tc.want)
			}
		})
	}
}

// In the real framework of the Rebalancer's profile, a steer makes the planned node the only
// top-scoring one among nodes that tie without it; the default profile has no steering.
func TestSteeringInTheFramework(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	configs := testConfigs(t)
	e, err := placement.NewStatic(ctx, configs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	if !e.Steers(v1alpha1.SchedulerName) || e.Steers(placement.DefaultSchedulerName) || e.Steers("") {
		t.Fatalf("Steers: ours %v, default %v; want only ours", e.Steers(v1alpha1.SchedulerName), e.Steers(placement.DefaultSchedulerName))
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var nodes []*corev1.Node
	table := &placement.Table{Nodes: map[string]*scoring.PlacementNode{}, Weights: scoring.Weights{CPU: 0.5, Memory: 0.5}, Now: now}
	for i := range 6 {
		n := testutil.Node(fmt.Sprintf("n%d", i)).Obj()
		nodes = append(nodes, n)
		table.Nodes[n.Name] = &scoring.PlacementNode{Capacity: scoring.Resources{CPU: 4000, Memory: 16 << 30}, ClassWeight: scoring.NoClassWeight, Cold: true}
	}
	sess, err := e.Open(nodes, nil, table)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	predict := func(sched string) placement.Prediction {
		t.Helper()
		pod := testutil.Pod("web-1-x").Namespace("shop").OwnedBy("ReplicaSet", "web-1").SchedulerName(sched).CPU("200m").Memory("256Mi").Obj()
		p, err := sess.Predict(ctx, pod)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := predict(v1alpha1.SchedulerName); len(p.Top) != 6 {
		t.Fatalf("without a steer the six empty nodes tie: %v", p.Top)
	}
	table.Steers = map[placement.SteerKey][]placement.Steer{
		{Namespace: "shop", Kind: "ReplicaSet", Name: "web-1"}: {{Node: "n4", Expires: now.Add(time.Minute), ID: "a"}},
	}
	if p := predict(v1alpha1.SchedulerName); !slices.Equal(p.Top, []string{"n4"}) {
		t.Errorf("steered to n4: top %v, want [n4]", p.Top)
	}
	if p := predict(""); len(p.Top) != 6 {
		t.Errorf("the default scheduler does not follow steers: top %v, want all six", p.Top)
	}
	table.Now = now.Add(time.Minute)
	if p := predict(v1alpha1.SchedulerName); len(p.Top) != 6 {
		t.Errorf("an expired steer is not followed: top %v", p.Top)
	}
}
