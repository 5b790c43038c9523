package planner_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

// testEngine is the placement engine with kube-scheduler's default profile and the Rebalancer's;
// its plugins read objects (Services, ReplicaSets, ...) from memory.
func testEngine(t *testing.T, objects ...runtime.Object) *placement.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	configs, err := placement.Configs(nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := placement.NewStatic(ctx, configs, objects...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// Every move is confirmed by the scheduler's own framework: the destination it reports is one the
// scheduler may pick, and a move whose replacement the scheduler could put on an unacceptable
// node is held back.
func TestPlanConfirmsMovesWithTheScheduler(t *testing.T) {
	engine := testEngine(t)
	cases := []struct {
		name string
		// build adds nodes and pods to w; the hot node is always "hot" with web pods on it.
		build        func(w *world)
		scheduler    string
		wantMove     bool
		wantPossible []string
		wantReason   planner.ReasonCode
	}{
		{
			// Three empty nodes, all cold, the same to kube-scheduler: it picks one at random,
			// and any of them will do.
			name: "ties among cold nodes", scheduler: "",
			build: func(w *world) {
				w.node("c1", 100, 0.5)
				w.node("c2", 100, 0.5)
				w.node("c3", 100, 0.5)
			},
			wantMove: true, wantPossible: []string{"c1", "c2", "c3"},
		},
		{
			// Two empty nodes kube-scheduler cannot tell apart (it scores requests), but the
			// reading of one is normal, not cold (its own processes): destinations Cold cannot
			// be promised. (The fast model, which breaks ties by name, guesses a-cold.)
			name: "tie with a node that is not cold", scheduler: "",
			build: func(w *world) {
				w.node("a-cold", 100, 0.5)
				w.node("b-busy", 2000, 8)
			},
			wantReason: planner.ReasonUncertainDestination,
		},
		{
			// The fast model ignores PreferNoSchedule taints; kube-scheduler's TaintToleration
			// does not: of two empty cold nodes it picks the untainted one, and the plan says so.
			name: "taint the fast model misses", scheduler: "",
			build: func(w *world) {
				w.node("a-spot", 100, 0.5, func(b *testutil.NodeBuilder) { b.Taint("spot", "true", corev1.TaintEffectPreferNoSchedule) })
				w.node("b-plain", 100, 0.5)
			},
			wantMove: true, wantPossible: []string{"b-plain"},
		},
		{
			// The Rebalancer's scheduler scores usage: the emptier cold node wins outright.
			name: "rebalancer-scheduler picks by usage", scheduler: v1alpha1.SchedulerName,
			build: func(w *world) {
				w.node("c1", 400, 1)
				w.node("c2", 100, 0.5)
			},
			wantMove: true, wantPossible: []string{"c2"},
		},
		{
			name: "a scheduler the engine does not know", scheduler: "someone-elses",
			build: func(w *world) {
				w.node("c1", 100, 0.5)
			},
			wantReason: planner.ReasonUnknownScheduler,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			// hot: 4 CPU / 16Gi, 3.6 CPU and 12Gi used by six web pods (score 0.825).
			w.node("hot", 3600, 12)
			tc.build(w)
			w.replicas("web", 6, 600, 2, "hot")
			for _, p := range w.pods {
				p.Spec.SchedulerName = tc.scheduler
			}
			w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1)}
			s := w.snapshot()
			s.Placement = engine
			res := planner.Plan(s, w.policy, w.slos, w.state, now)
			if len(res.Blockers) > 0 {
				t.Fatalf("blockers: %v", res.Blockers)
			}
			if !tc.wantMove {
				if len(res.Moves) != 0 {
					t.Fatalf("moves %v, want none", res.Moves)
				}
				if res.HeldBackByReason()[tc.wantReason] == 0 {
					t.Errorf("held back %v, want some for %s", res.HeldBackByReason(), tc.wantReason)
				}
				return
			}
			if len(res.Moves) != 1 {
				t.Fatalf("moves %v, want 1 (held back: %v)", res.Moves, res.HeldBack)
			}
			m := res.Moves[0]
			if !m.Confirmed || !slices.Equal(m.Possible, tc.wantPossible) || !slices.Contains(m.Possible, m.To) {
				t.Errorf("move to %s, confirmed %v, possible %v; want one of %v, confirmed", m.To, m.Confirmed, m.Possible, tc.wantPossible)
			}
		})
	}
}

// Kube-scheduler draws among tied nodes. After a move whose replacement may land on any of
// several nodes, the next move counts on every node the draw may leave better or worse for it:
// when its own top nodes outnumber what the draw can take from them, its replacement lands on
// one of them or on the node the plan put the first replacement on, and all of those must be
// acceptable. When a Service selects both pods (default topology spreading counts one for the
// other), or the draw could take every top node, the move waits a cycle (AfterUncertainMove). A
// label both carry that no Service or controller selects by changes nothing. The Rebalancer's
// scheduler follows the evictor's steer to the planned node: its moves are steered.
func TestMovesAfterADraw(t *testing.T) {
	shop := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/part-of": "shop"}}}
	cases := []struct {
		name      string
		scheduler string
		cold      []string
		// shared is a label both workloads carry besides the opt-in label.
		shared bool
		// objects are what the scheduler's plugins read besides nodes and pods.
		objects     []runtime.Object
		wantMoves   int
		wantSteered bool
	}{
		{name: "default scheduler: the second move counts on the first's node too", cold: []string{"c1", "c2", "c3"}, wantMoves: 2},
		{name: "default scheduler, a Service selects both by a shared label: the second move waits", cold: []string{"c1", "c2", "c3"}, shared: true,
			objects: []runtime.Object{shop}, wantMoves: 1},
		{name: "default scheduler, a shared label nothing selects by: both moves", cold: []string{"c1", "c2", "c3"}, shared: true, wantMoves: 2},
		{name: "default scheduler, the draw may take the only top node: the second move waits", cold: []string{"c1", "c2"}, wantMoves: 1},
		{name: "rebalancer-scheduler: both moves, steered", scheduler: v1alpha1.SchedulerName, cold: []string{"c1", "c2", "c3"}, wantMoves: 2, wantSteered: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("hot", 3600, 12)
			for _, n := range tc.cold {
				w.node(n, 100, 0.5)
			}
			w.replicas("web", 3, 600, 2, "hot")
			w.replicas("api", 3, 600, 2, "hot")
			for _, p := range w.pods {
				p.Spec.SchedulerName = tc.scheduler
				if tc.shared {
					p.Labels["app.kubernetes.io/part-of"] = "shop"
				}
			}
			w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](2), MaxEvictionsPerNodePerCycle: ptr.To[int32](2)}
			s := w.snapshot()
			s.Placement = testEngine(t, tc.objects...)
			res := planner.Plan(s, w.policy, w.slos, w.state, now)
			if len(res.Moves) != tc.wantMoves {
				t.Fatalf("moves %v, want %d (held back: %v)", res.Moves, tc.wantMoves, res.HeldBackByReason())
			}
			if tc.wantMoves == 1 && res.HeldBackByReason()[planner.ReasonAfterUncertainMove] == 0 {
				t.Errorf("held back %v, want AfterUncertainMove", res.HeldBackByReason())
			}
			dests := map[string]bool{}
			for _, m := range res.Moves {
				if m.Steered != tc.wantSteered || !slices.Contains(m.Possible, m.To) {
					t.Errorf("move %v: steered %v (want %v), possible %v", m, m.Steered, tc.wantSteered, m.Possible)
				}
				dests[m.To] = true
			}
			switch {
			case tc.wantSteered && len(dests) != 2:
				t.Errorf("the two steered replacements are planned on %v, want two different nodes", dests)
			case !tc.wantSteered && tc.wantMoves == 2:
				// The draw: the second replacement may land where the plan put the first, or on
				// any other cold node.
				if first, second := res.Moves[0], res.Moves[1]; !slices.Equal(second.Possible, tc.cold) || !slices.Contains(first.Possible, first.To) {
					t.Errorf("second move may land on %v, want every cold node %v (the first is planned on %s)", second.Possible, tc.cold, first.To)
				}
			}
		})
	}
}

// The after-draw rule is an argument about kube-scheduler's default profile (a pod's score on a
// node depends on that node alone, unless affinity, spreading or normalization tie it to others).
// This checks it against the framework itself (the placement engine, equal to upstream by
// pkg/placement's property test): in random clusters where the default scheduler draws among
// tied cold nodes, for every later move of a plan and every way the scheduler could have drawn
// the earlier replacements, the later replacement's top nodes lie within the move's Possible set.
// With ReplicaSets whose set-based selectors take in another workload's pods, kube-scheduler's
// default spreading ties those workloads' scores across nodes: the planner must see it from the
// objects (placement.Engine.SpreadSelector), as the pods share no label but the opt-in one.
func TestMovesAfterADrawHoldForEveryDraw(t *testing.T) {
	rs := func(name string, sel *metav1.LabelSelector) runtime.Object {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name}, Spec: appsv1.ReplicaSetSpec{Selector: sel}}
	}
	webOrAPI := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
	}{
		{name: "no controller objects"},
		{name: "ReplicaSets selecting across workloads", objects: []runtime.Object{
			rs("web", webOrAPI), rs("api", webOrAPI), rs("db", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMovesAfterDraws(t, testEngine(t, tc.objects...)) })
	}
}

func checkMovesAfterDraws(t *testing.T, engine *placement.Engine) {
	ctx := context.Background()
	checked := 0
	for seed := range 40 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		w := newWorld()
		w.node("hot", 3700, 12)
		cold := 3 + rng.IntN(4)
		for i := range cold {
			name := fmt.Sprintf("c%d", i)
			w.node(name, float64(100+100*rng.IntN(8)), 0.5)
			// Some cold nodes carry a small pod: they tie in groups for kube-scheduler, whose
			// scores count requests, while the planner sees their different usage.
			if m := 100 * rng.IntN(3); m > 0 {
				w.pod(testutil.Pod(fmt.Sprintf("base-%d", i)).Namespace("base").Node(name).CPU(fmt.Sprintf("%dm", m)).Memory("128Mi"), float64(m), 0.125)
			}
		}
		for _, app := range []string{"web", "api", "db"} {
			w.replicas(app, 2, float64(300+100*rng.IntN(4)), 1, "hot")
		}
		w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](3), MaxEvictionsPerNodePerCycle: ptr.To[int32](3)}
		s := w.snapshot()
		s.Placement = engine
		res := planner.Plan(s, w.policy, w.slos, w.state, now)
		byUID := map[types.UID]*planner.Pod{}
		for _, p := range s.Pods {
			byUID[p.UID] = p
		}
		for k, m := range res.Moves {
			var drawn []planner.Move
			for _, e := range res.Moves[:k] {
				if len(e.Possible) > 1 {
					drawn = append(drawn, e)
				}
			}
			if len(drawn) == 0 {
				continue
			}
			// Every assignment of the earlier moves to nodes of their Possible sets.
			for _, to := range assignments(res.Moves[:k]) {
				sess, err := engine.Open(s.Nodes, scheduledPods(s.Pods), nil)
				if err != nil {
					t.Fatal(err)
				}
				for j, e := range res.Moves[:k] {
					p := byUID[e.Pod.UID]
					if err := sess.Move(ctx, p.SchedulingPod(), p.Replacement(), to[j]); err != nil {
						t.Fatal(err)
					}
				}
				p := byUID[m.Pod.UID]
				restore, err := sess.Evicting(ctx, p.SchedulingPod(), now)
				if err != nil {
					t.Fatal(err)
				}
				pred, err := sess.Predict(ctx, p.Replacement())
				if err != nil {
					t.Fatal(err)
				}
				if err := restore(); err != nil {
					t.Fatal(err)
				}
				sess.Close()
				for _, n := range pred.Top {
					if !slices.Contains(m.Possible, n) {
						t.Errorf("seed %d, move %d (%s): with the earlier replacements on %v the scheduler may pick %s, outside the move's Possible %v", seed, k, m.Pod.Name, to, n, m.Possible)
					}
				}
				checked++
			}
		}
	}
	t.Logf("%d later moves checked against every draw of the moves before them", checked)
	if checked < 20 {
		t.Fatalf("only %d (move, draw) pairs checked: the clusters no longer make moves after a draw", checked)
	}
}

// assignments lists every choice of one node from each move's Possible set.
func assignments(moves []planner.Move) [][]string {
	out := [][]string{nil}
	for _, m := range moves {
		var next [][]string
		for _, prefix := range out {
			for _, n := range m.Possible {
				next = append(next, append(slices.Clone(prefix), n))
			}
		}
		out = next
	}
	return out
}

// scheduledPods are the bound pods (every pod of these worlds is running), as the planner's
// confirmation puts them in the scheduler's snapshot.
func scheduledPods(pods []*planner.Pod) []placement.Pod {
	var out []placement.Pod
	for _, p := range pods {
		if p.NodeName != "" {
			out = append(out, p)
		}
	}
	return out
}

// In a cluster over 100 nodes kube-scheduler scores a sample of the nodes for pods on the default
// scheduler, and a move's replacement may land on most of them. A later candidate on the same
// scheduler that fits a drawn node waits for the next cycle: the planner finds that with its own
// feasibility check, without a framework run per candidate, and says so. A candidate that fits
// none of the drawn nodes (here: pinned by node selector to a pool the first move's pod cannot
// use) still gets the framework's answer.
func TestLaterMovesWaitForASampledDraw(t *testing.T) {
	engine := testEngine(t)
	for _, tc := range []struct {
		name string
		// pool labels half of the cold nodes and pins the api pods to them; web cannot use them.
		pool      bool
		wantMoves int
		// wantWaits: a candidate is held back for the draw without a framework run.
		wantWaits bool
	}{
		{name: "every candidate fits a drawn node: one move a cycle", wantMoves: 1, wantWaits: true},
		{name: "a candidate pinned away from the drawn nodes: confirmed by the framework", pool: true, wantMoves: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("hot", 3700, 12)
			for i := range 150 {
				name := fmt.Sprintf("c%03d", i)
				if tc.pool && i%2 == 1 {
					w.node(name, 100, 0.5, func(b *testutil.NodeBuilder) {
						b.Label("pool", "api").Taint("pool", "api", corev1.TaintEffectNoSchedule)
					})
					continue
				}
				w.node(name, 100, 0.5)
			}
			w.replicas("web", 2, 600, 1, "hot")
			w.replicas("api", 2, 600, 1, "hot")
			if tc.pool {
				for _, p := range w.pods {
					if p.Labels["app"] == "api" {
						p.Spec.NodeSelector = map[string]string{"pool": "api"}
						p.Spec.Tolerations = []corev1.Toleration{{Key: "pool", Value: "api", Effect: corev1.TaintEffectNoSchedule}}
					}
				}
			}
			w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](4), MaxEvictionsPerNodePerCycle: ptr.To[int32](4)}
			s := w.snapshot()
			s.Placement = engine
			res := planner.Plan(s, w.policy, w.slos, w.state, now)
			if len(res.Moves) != tc.wantMoves {
				t.Fatalf("moves %v, want %d (held back: %v)", res.Moves, tc.wantMoves, res.HeldBackByReason())
			}
			if len(res.Moves[0].Possible) < 10 {
				t.Fatalf("the first move may land on %v: the cluster is not sampled", res.Moves[0].Possible)
			}
			waits := 0
			for _, h := range res.HeldBack {
				for _, r := range h.Reasons {
					if r.Code == planner.ReasonAfterUncertainMove && strings.Contains(r.Message, "scores a sample of") {
						waits++
					}
				}
			}
			if (waits > 0) != tc.wantWaits {
				t.Errorf("%d candidates wait for the sampled draw, want some: %t; held back: %v", waits, tc.wantWaits, res.HeldBack)
			}
		})
	}
}

// When kube-scheduler samples (over 100 nodes) and too much of what it may pick is not cold, the
// move is held back (UncertainDestination), and the reason says which scheduler the evictor can
// confirm moves for: ours scores every node. Nothing in the default profile tells the cold nodes
// apart from the busy ones here (no pod requests on any of them), so it picks at random.
func TestASampledMoveThatMayMissNamesTheSchedulerThatScoresEveryNode(t *testing.T) {
	engine := testEngine(t)
	for _, tc := range []struct {
		scheduler string
		wantMoves int
	}{
		{scheduler: "", wantMoves: 0},
		{scheduler: v1alpha1.SchedulerName, wantMoves: 1},
	} {
		t.Run("scheduler "+schedulerOrDefault(tc.scheduler), func(t *testing.T) {
			w := newWorld()
			w.node("hot", 3700, 12)
			for i := range 75 {
				w.node(fmt.Sprintf("a-cold-%03d", i), 100, 0.5)
				w.node(fmt.Sprintf("b-busy-%03d", i), 2000, 8)
			}
			w.replicas("web", 2, 600, 1, "hot")
			for _, p := range w.pods {
				p.Spec.SchedulerName = tc.scheduler
			}
			s := w.snapshot()
			s.Placement = engine
			res := planner.Plan(s, w.policy, w.slos, w.state, now)
			if len(res.Moves) != tc.wantMoves {
				t.Fatalf("moves %v, want %d (held back: %v)", res.Moves, tc.wantMoves, res.HeldBack)
			}
			if tc.wantMoves > 0 {
				return
			}
			var msgs []string
			for _, h := range res.HeldBack {
				for _, r := range h.Reasons {
					if r.Code == planner.ReasonUncertainDestination {
						msgs = append(msgs, r.Message)
					}
				}
			}
			want := "scores a sample of 100 of the 151 feasible nodes"
			hint := fmt.Sprintf("a pod on %s is placed by a score of every node", v1alpha1.SchedulerName)
			if len(msgs) == 0 || !strings.Contains(msgs[0], want) || !strings.Contains(msgs[0], hint) {
				t.Errorf("UncertainDestination messages %q, want one with %q and %q", msgs, want, hint)
			}
		})
	}
}

func schedulerOrDefault(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

// The fast model only ranks candidates: where it puts a replacement on a node that would not do,
// the placement engine still decides. Here the pods prefer (preferred node affinity) the cold
// pool, which kube-scheduler's default profile weighs and the fast model, which scores requests
// alone, does not: it puts the replacement on a-busy, the first of two nodes without requests.
func TestTheEngineOverrulesTheFastModelsDestination(t *testing.T) {
	engine := testEngine(t)
	for _, tc := range []struct {
		name   string
		engine *placement.Engine
		// wantTo is where the move goes; "" when the pod is held back with wantReason.
		wantTo     string
		wantReason planner.ReasonCode
	}{
		{name: "the engine places it on the preferred cold node", engine: engine, wantTo: "b-cold"},
		{name: "without an engine the fast model's verdict stands", wantReason: planner.ReasonDestinationNotCold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("hot", 3700, 12)
			w.node("a-busy", 2000, 8)
			w.node("b-cold", 100, 0.5, func(b *testutil.NodeBuilder) { b.Label("pool", "cold") })
			w.replicas("web", 2, 600, 1, "hot")
			for _, p := range w.pods {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
					Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"cold"}}}},
				}}}}
			}
			s := w.snapshot()
			s.Placement = tc.engine
			res := planner.Plan(s, w.policy, w.slos, w.state, now)
			if tc.wantTo != "" {
				if len(res.Moves) == 0 || res.Moves[0].To != tc.wantTo || !res.Moves[0].Confirmed {
					t.Fatalf("moves %v, want a confirmed move to %s (held back: %v)", res.Moves, tc.wantTo, res.HeldBack)
				}
				return
			}
			if len(res.Moves) != 0 {
				t.Fatalf("moves %v, want none", res.Moves)
			}
			if got := res.HeldBackByReason()[tc.wantReason]; got == 0 {
				t.Errorf("held back %v, want %s", res.HeldBackByReason(), tc.wantReason)
			}
		})
	}
}

// The engine's runs a cycle are bounded (ConfirmationLimit): once they are spent, a candidate the
// fast model sends to a node that would not do is held back on the model's word, and the reason
// says so. Each workload here is its own shape (one framework run each); the default profile ties
// a-busy and b-cold (no requests on either), so every run ends in UncertainDestination, and the
// model puts each replacement on a-busy, the first of the tie by name.
func TestTheFastModelsVerdictStandsOnlyPastTheConfirmationLimit(t *testing.T) {
	w := newWorld()
	w.node("hot", 3700, 12)
	w.node("a-busy", 2000, 8)
	w.node("b-cold", 100, 0.5)
	const workloads = 30
	res := planOneMoveACycle(t, w, workloads)
	if len(res.Moves) != 0 {
		t.Fatalf("moves %v, want none", res.Moves)
	}
	byFramework, byModel := 0, 0
	for _, h := range res.HeldBack {
		for _, r := range h.Reasons {
			switch {
			case r.Code == planner.ReasonUncertainDestination:
				byFramework++
			case r.Code == planner.ReasonDestinationNotCold && strings.HasPrefix(r.Message, "by the planner's fast model, not confirmed (the placement engine already ran"):
				byModel++
			}
		}
	}
	// 20 + 4 x maxEvictionsPerCycle framework runs, one per workload, both replicas alike.
	if wantRuns := 24; byFramework != 2*wantRuns || byModel != 2*(workloads-wantRuns) {
		t.Errorf("held back by the framework %d, by the unconfirmed model %d; want %d and %d: %v", byFramework, byModel, 2*wantRuns, 2*(workloads-wantRuns), res.HeldBack)
	}
	if res.Unconfirmed != byModel {
		t.Errorf("the plan counts %d candidates held on the model's word alone, its reasons %d", res.Unconfirmed, byModel)
	}
}

// The engine's runs a cycle go to the moves the fast model lets through first; the candidates it
// holds back on where their replacement lands get the runs that are left. Thirty workloads rank
// above the one the model sends to a cold node (each is its own shape: a framework run each, and
// the default profile ties a-busy and b-cold for them, UncertainDestination), and the cycle's
// 20 + 4 x 1 runs would all go to them before it. When no node could take a replacement at all
// (no cold node), the engine is not asked.
func TestTheEngineRunsGoToMovesFirst(t *testing.T) {
	const workloads = 30
	for _, tc := range []struct {
		name string
		// cold adds the cold node b-cold and the workload only it can take.
		cold bool
		// wantMove is the one move; wantModel how the model's verdicts are said.
		wantMove  string
		wantModel string
	}{
		{name: "a move the model lets through is planned first", cold: true, wantMove: "pinned-0",
			wantModel: "by the planner's fast model, not confirmed (the cycle's 1 moves were planned first)"},
		{name: "no node could take a replacement", wantModel: "by the planner's fast model, and no node that is cold (the policy's destinations) fits it, so no scheduler could overrule it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("hot", 3700, 12)
			w.node("a-busy", 2000, 8)
			if tc.cold {
				w.node("b-cold", 100, 0.5, func(b *testutil.NodeBuilder) { b.Label("pool", "cold") })
				// Ranks last: it uses the least.
				for i := range 2 {
					w.pod(testutil.Pod(fmt.Sprintf("pinned-%d", i)).Namespace("prod").Node("hot").OptIn().Label("app", "pinned").OwnedBy("ReplicaSet", "pinned").
						CPU("40m").Memory("100Mi").NodeSelector("pool", "cold"), 40, 0.05)
				}
			}
			res := planOneMoveACycle(t, w, workloads)
			var moved []string
			for _, m := range res.Moves {
				moved = append(moved, m.Pod.Name)
				if !m.Confirmed {
					t.Errorf("move of %s not confirmed", m.Pod.Name)
				}
			}
			if want := []string{tc.wantMove}; tc.wantMove == "" && len(moved) != 0 || tc.wantMove != "" && !slices.Equal(moved, want) {
				t.Fatalf("moves %v, want %q (held back: %v)", moved, tc.wantMove, res.HeldBack)
			}
			byModel, byEngine := 0, 0
			for _, h := range res.HeldBack {
				for _, r := range h.Reasons {
					switch {
					case r.Code == planner.ReasonDestinationNotCold && strings.HasPrefix(r.Message, tc.wantModel):
						byModel++
					case r.Code == planner.ReasonUncertainDestination || r.Code == planner.ReasonConfirmationLimit:
						byEngine++
					}
				}
			}
			if byModel != 2*workloads || byEngine != 0 || res.Unconfirmed != 0 {
				t.Errorf("held back by the model %d (want %d), by the engine or its limit %d, unconfirmed %d (want 0): %v",
					byModel, 2*workloads, byEngine, res.Unconfirmed, res.HeldBack)
			}
		})
	}
}

// planOneMoveACycle adds workloads of two replicas each on node hot (each workload its own shape,
// 50m and 0.1Gi a pod) and plans with the placement engine under a policy of one move a cycle,
// which allows 20 + 4 x 1 engine runs.
func planOneMoveACycle(t *testing.T, w *world, workloads int) planner.Result {
	t.Helper()
	for i := range workloads {
		w.replicas(fmt.Sprintf("web%02d", i), 2, 50, 0.1, "hot")
	}
	w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1)}
	s := w.snapshot()
	s.Placement = testEngine(t)
	return planner.Plan(s, w.policy, w.slos, w.state, now)
}
