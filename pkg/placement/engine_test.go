package placement_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

func defaultEngine(t *testing.T) *placement.Engine {
	t.Helper()
	def, err := placement.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e, err := placement.NewStatic(ctx, []*schedconfig.KubeSchedulerConfiguration{def})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// A pod still bound to a node that is gone (deleted, its pods not yet) is left out, as
// kube-scheduler's snapshot leaves it out, and sessions keep opening one after another.
func TestOpenWithPodsOnDeletedNodes(t *testing.T) {
	e := defaultEngine(t)
	nodes := []*corev1.Node{testutil.Node("n1").Obj(), testutil.Node("n2").Obj()}
	pods := []*corev1.Pod{
		testutil.Pod("a").Namespace("x").Node("n1").CPU("1").Obj(),
		testutil.Pod("ghost").Namespace("x").Node("gone").CPU("1").Obj(),
	}
	for i := range 2 {
		sess, err := e.Open(nodes, placement.APIPods(pods), nil)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		p, err := sess.Predict(context.Background(), testutil.Pod("new").Namespace("x").CPU("500m").Obj())
		sess.Close()
		if err != nil {
			t.Fatal(err)
		}
		// n2 is empty, n1 holds a: LeastAllocated prefers n2.
		if p.Feasible != 2 || !slices.Equal(p.Top, []string{"n2"}) {
			t.Errorf("session %d: %+v, want 2 feasible nodes and n2 on top", i, p)
		}
	}
}

// Under sampling every node that could top a sample of ToScore nodes is possible: with 150
// nodes and a sample of 100, the 51 best, whatever the others score; without sampling only the
// top score. Draw picks within those sets.
func TestPossibleUnderSampling(t *testing.T) {
	e := defaultEngine(t)
	var nodes []*corev1.Node
	var pods []*corev1.Pod
	for i := range 150 {
		n := testutil.Node(nodeName(i)).Obj()
		nodes = append(nodes, n)
		// Node i carries i x 20m: lower i scores higher (LeastAllocated), no two alike.
		pods = append(pods, testutil.Pod("p-"+n.Name).Namespace("x").Node(n.Name).CPU(milli(20*i)).Memory("64Mi").Obj())
	}
	sess, err := e.Open(nodes, placement.APIPods(pods), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	p, err := sess.Predict(context.Background(), testutil.Pod("new").Namespace("x").CPU("100m").Obj())
	if err != nil {
		t.Fatal(err)
	}
	// 150 nodes: 50 - 150/125 = 49%, 73 nodes, raised to the minimum of 100.
	if p.Feasible != 150 || p.ToScore != 100 || !p.Sampled {
		t.Fatalf("feasible %d, to score %d, sampled %v; want 150, 100, true", p.Feasible, p.ToScore, p.Sampled)
	}
	// Scores may tie in places (integer scores), so count by score: a node is possible when at
	// least 99 others score no higher.
	for _, ns := range p.Scores {
		lower := 0
		for _, o := range p.Scores {
			if o.Node != ns.Node && o.Score <= ns.Score {
				lower++
			}
		}
		if want := lower >= 99; p.Lands(ns.Node) != want {
			t.Errorf("node %s (score %d, %d others no higher): possible %v, want %v", ns.Node, ns.Score, lower, p.Lands(ns.Node), want)
		}
	}
	if p.Lands(nodeName(149)) || !p.Lands(nodeName(0)) {
		t.Errorf("the emptiest node must be possible, the fullest not: %v", p.Possible)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	const draws = 4000
	for range draws {
		n := p.Draw(rng)
		if !p.Lands(n) {
			t.Fatalf("Draw picked %s, outside Possible", n)
		}
		counts[n]++
	}
	// MissChance is a distribution over the nodes: nothing acceptable misses surely, everything
	// never; and for the nodes Draw picks it agrees with the draw, which samples as it models.
	if m := p.MissChance(func(string) bool { return false }); math.Abs(m-1) > 1e-9 {
		t.Errorf("MissChance(nothing acceptable) = %v, want 1", m)
	}
	if m := p.MissChance(func(string) bool { return true }); m != 0 {
		t.Errorf("MissChance(everything acceptable) = %v, want 0", m)
	}
	best := p.Scores[0].Node
	want := p.MissChance(func(n string) bool { return n == best })
	got := 1 - float64(counts[best])/draws
	if math.Abs(got-want) > 0.03 {
		t.Errorf("the best node missed in %.3f of draws, MissChance says %.3f", got, want)
	}
}

func nodeName(i int) string { return fmt.Sprintf("node-%03d", i) }

func milli(m int) string { return fmt.Sprintf("%dm", m) }

func TestNumFeasibleNodesToFind(t *testing.T) {
	pct := func(v int32) *int32 { return &v }
	cases := []struct {
		name       string
		percentage *int32
		nodes      int
		want       int
	}{
		// Below 100 nodes kube-scheduler filters all of them.
		{"small cluster", nil, 99, 99},
		// Adaptive: 50 - 200/125 = 49% of 200 = 98, raised to the minimum of 100.
		{"adaptive 200", nil, 200, 100},
		// Adaptive: 50 - 1000/125 = 42% of 1000 = 420.
		{"adaptive 1000", nil, 1000, 420},
		// Adaptive: 50 - 5000/125 = 10% of 5000 = 500.
		{"adaptive 5000", nil, 5000, 500},
		// Adaptive floors at 5%: 50 - 10000/125 = -30 -> 5% of 10000 = 500.
		{"adaptive 10000", nil, 10000, 500},
		{"every node", pct(100), 5000, 5000},
		{"profile's 30%", pct(30), 1000, 300},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := placement.NumFeasibleNodesToFind(tc.percentage, tc.nodes); got != tc.want {
				t.Errorf("NumFeasibleNodesToFind(%v, %d) = %d, want %d", tc.percentage, tc.nodes, got, tc.want)
			}
		})
	}
}

// While its replacement is scheduled, an evicted pod is terminating: kube-scheduler's default
// topology spreading no longer counts it, though its requests still hold. Two nodes with two pods
// of a ReplicaSet each tie; with one of them evicting, its node has fewer pods of the set and
// wins (the engine used to count the evicted pod and predict a tie).
func TestEvictingPodIsTerminating(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	def, err := placement.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "web", UID: "uid-ReplicaSet-web"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	e, err := placement.NewStatic(ctx, []*schedconfig.KubeSchedulerConfiguration{def}, rs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	nodes := []*corev1.Node{testutil.Node("a").Obj(), testutil.Node("b").Obj()}
	pod := func(name, node string) *corev1.Pod {
		return testutil.Pod(name).Namespace("x").Node(node).Label("app", "web").OwnedBy("ReplicaSet", "web").CPU("100m").Obj()
	}
	pods := []*corev1.Pod{pod("web-1", "a"), pod("web-2", "a"), pod("web-3", "b"), pod("web-4", "b")}
	sess, err := e.Open(nodes, placement.APIPods(pods), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	replacement := pod("web-5", "")
	before, err := sess.Predict(ctx, replacement)
	if err != nil {
		t.Fatal(err)
	}
	restore, err := sess.Evicting(ctx, pods[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	during, err := sess.Predict(ctx, replacement)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, err := sess.Predict(ctx, replacement)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before.Top, []string{"a", "b"}) || !slices.Equal(during.Top, []string{"a"}) || !slices.Equal(after.Top, before.Top) {
		t.Errorf("top before %v, while web-1 is evicting %v, after restoring %v; want [a b], [a], [a b]", before.Top, during.Top, after.Top)
	}
}

// SpreadSelector reads the objects kube-scheduler's default spreading reads, through the engine's
// informers: which other pods the spread score of a pod's replacement counts.
func TestSpreadSelector(t *testing.T) {
	webOrAPI := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web"}, Spec: appsv1.ReplicaSetSpec{Selector: webOrAPI}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "shop"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"tier": "shop"}}}
	web := testutil.Pod("web-0").Namespace("prod").Label("app", "web").Label("tier", "shop").OwnedBy("ReplicaSet", "web").Obj()
	bare := testutil.Pod("bare").Namespace("prod").Label("app", "web").Obj()
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		pod     *corev1.Pod
		// counts and ignores are label sets of other pods the selector must match and must not.
		counts, ignores []labels.Set
	}{
		{name: "no object selects the pod", pod: web, ignores: []labels.Set{{"app": "web"}, {"app": "api"}}},
		{name: "a set-based ReplicaSet selector takes in another workload", objects: []runtime.Object{rs}, pod: web,
			counts: []labels.Set{{"app": "api"}, {"app": "web"}}, ignores: []labels.Set{{"app": "db"}}},
		{name: "a Service and the ReplicaSet are ANDed", objects: []runtime.Object{rs, svc}, pod: web,
			counts: []labels.Set{{"app": "api", "tier": "shop"}}, ignores: []labels.Set{{"app": "api"}, {"tier": "shop", "app": "db"}}},
		{name: "a bare pod: only the Services", objects: []runtime.Object{rs, svc}, pod: bare, ignores: []labels.Set{{"app": "web"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def, err := placement.DefaultConfig()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			e, err := placement.NewStatic(ctx, []*schedconfig.KubeSchedulerConfiguration{def}, tc.objects...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			sel := e.SpreadSelector(tc.pod)
			for _, l := range tc.counts {
				if sel.Empty() || !sel.Matches(l) {
					t.Errorf("selector %q does not count a pod labelled %v", sel, l)
				}
			}
			for _, l := range tc.ignores {
				if !sel.Empty() && sel.Matches(l) {
					t.Errorf("selector %q counts a pod labelled %v", sel, l)
				}
			}
		})
	}
}

// TestScoringEveryNode: with the shipped configurations, both schedulers score every node of a
// cluster below kube-scheduler's 100-node minimum; above it only rebalancer-scheduler does, whose
// profile sets percentageOfNodesToScore: 100, and the default scheduler samples (upstream's
// numFeasibleNodesToFind, checked against the scheduler in sampling_upstream_test.go).
func TestScoringEveryNode(t *testing.T) {
	configs, err := placement.Configs(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := placement.NewStatic(ctx, configs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	for _, tc := range []struct {
		nodes int
		want  []string
	}{
		{20, []string{placement.DefaultSchedulerName, v1alpha1.SchedulerName}},
		{100, []string{placement.DefaultSchedulerName, v1alpha1.SchedulerName}},
		{101, []string{v1alpha1.SchedulerName}},
		{5000, []string{v1alpha1.SchedulerName}},
	} {
		if got := e.ScoringEveryNode(tc.nodes); !slices.Equal(got, tc.want) {
			t.Errorf("%d nodes: %v, want %v", tc.nodes, got, tc.want)
		}
	}
}
