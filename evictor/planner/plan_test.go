package planner_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

// skewed is three nodes of 4 CPUs and 16Gi: n1 hot, n2 cold, n3 in between. Each web pod uses
// 600m and 2Gi and requests the same.
//
//	n1: 3600m, 12Gi -> score 0.5*0.9 + 0.5*0.75 = 0.825 (hot, >= 0.75)
//	n2:  600m,  2Gi -> score 0.5*0.15 + 0.5*0.125 = 0.1375 (cold, < 0.35)
//	n3: 1800m,  6Gi -> score 0.5*0.45 + 0.5*0.375 = 0.4125
func skewed() *world {
	w := newWorld()
	w.node("n1", 3600, 12)
	w.node("n2", 600, 2)
	w.node("n3", 1800, 6)
	w.replicas("web", 6, 600, 2, "n1")
	w.replicas("api", 1, 600, 2, "n2")
	w.replicas("db", 3, 600, 2, "n3")
	return w
}

func TestPlanMovesFromHotToCold(t *testing.T) {
	w := skewed()
	w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1)}
	res := w.plan()
	if len(res.Blockers) != 0 {
		t.Fatalf("blockers: %v", res.Blockers)
	}
	if res.HotNodes != 1 || res.ColdNodes != 1 {
		t.Errorf("hot %d cold %d, want 1 and 1", res.HotNodes, res.ColdNodes)
	}
	if len(res.Moves) != 1 {
		t.Fatalf("moves %v, want 1", res.Moves)
	}
	m := res.Moves[0]
	// Moving 600m/2Gi from n1 to n2: n1 -> 0.5*0.75 + 0.5*0.625 = 0.6875, n2 -> 0.5*0.3 + 0.5*0.25 = 0.275.
	// Scores {0.825, 0.1375, 0.4125} (sigma 0.2826) become {0.6875, 0.275, 0.4125} (sigma 0.1716).
	if m.From != "n1" || m.To != "n2" {
		t.Errorf("move %s -> %s, want n1 -> n2", m.From, m.To)
	}
	if want := sigma(0.825, 0.1375, 0.4125); math.Abs(m.SigmaBefore-want) > 1e-9 || math.Abs(res.SigmaBefore-want) > 1e-9 {
		t.Errorf("sigma before %v (plan %v), want %v", m.SigmaBefore, res.SigmaBefore, want)
	}
	if want := sigma(0.6875, 0.275, 0.4125); math.Abs(m.SigmaAfter-want) > 1e-9 {
		t.Errorf("sigma after %v, want %v", m.SigmaAfter, want)
	}
	if m.Reason.Code != planner.ReasonLowersSigma || m.Scheduler != "default-scheduler" || m.Workload.String() != "ReplicaSet/web" {
		t.Errorf("move %+v", m)
	}
	// The other web pods are held back: one move per cycle, and the workload is in backoff.
	if n := len(res.HeldBack); n != 5 {
		t.Errorf("held back %d, want the other 5 web pods: %v", n, res.HeldBack)
	}
	for _, h := range res.HeldBack {
		if !h.Has(planner.ReasonWorkloadInPlan) && !h.Has(planner.ReasonCycleLimit) {
			t.Errorf("%s: want WorkloadAlreadyInPlan or CycleLimit, got %v", h.Pod, h.Reasons)
		}
	}
	if res.State.Nodes["n1"].Class != scoring.Hot || res.State.Nodes["n2"].Class != scoring.Cold {
		t.Errorf("next state %+v", res.State.Nodes)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	a, b := skewed().plan(), skewed().plan()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two plans of the same input differ (-first,+second):\n%s", diff)
	}
}

// TestPlanIgnoresThePodOrder: the evictor's pod cache lists pods in no particular order, and the
// plan must not follow it. Each cluster is planned from its pods as generated and from two
// shuffles of them: the moves, the candidates held back (their order too: the status, events and
// dashboard show the first ones) and the lower bound are the same.
func TestPlanIgnoresThePodOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec plannertest.Spec
		busy bool
	}{
		{"mixed", plannertest.Spec{Seed: 3, Nodes: 60, PodsPerNode: 20, Replicas: 4, HotFraction: 0.2, OptIn: 0.6, Mixed: true, ServerMemory: "64Gi"}, false},
		{"mixed, 100 moves a cycle", plannertest.Spec{Seed: 4, Nodes: 60, PodsPerNode: 20, Replicas: 4, HotFraction: 0.2, OptIn: 0.6, Mixed: true, ServerMemory: "64Gi"}, true},
		{"uniform", plannertest.Spec{Seed: 5, Nodes: 80, PodsPerNode: 15, Replicas: 3, HotFraction: 0.3, OptIn: 0.8, ServerMemory: "32Gi"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := plannertest.Cluster(tc.spec)
			if tc.busy {
				w.Policy.Spec.RateLimits = rateLimits(100)
				w.Policy.Spec.Destinations = ptr.To(v1alpha1.DestinationsNotHot)
			}
			want := planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
			if len(want.Moves) == 0 || len(want.HeldBack) == 0 {
				t.Fatalf("the cluster gives %d moves and %d held back: it cannot show an order", len(want.Moves), len(want.HeldBack))
			}
			rng := rand.New(rand.NewPCG(tc.spec.Seed, 1))
			for i := range 2 {
				s := w.Snapshot
				s.Pods = slices.Clone(s.Pods)
				rng.Shuffle(len(s.Pods), func(i, j int) { s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i] })
				got := planner.Plan(s, w.Policy, w.SLOs, w.State, plannertest.Now)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("shuffle %d: the plan differs (-in order,+shuffled):\n%s", i, diff)
				}
			}
		})
	}
}

func TestPlanSpreadsOverWorkloadsAndStopsWhenCleared(t *testing.T) {
	w := newWorld()
	w.node("n1", 3600, 12)
	w.node("n2", 400, 1)
	w.node("n3", 400, 1)
	for _, rs := range []string{"a", "b", "c", "d", "e", "f"} {
		w.replicas(rs, 2, 600, 2, "n1", "n1")
	}
	w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](10), MaxEvictionsPerNodePerCycle: ptr.To[int32](10)}
	res := w.plan()
	// n1: CPU 3600/4000 = 0.9, memory 12/16 = 0.75; it stops being hot when both are under
	// 0.75 - 0.05 = 0.70. A pod is 600/4000 = 0.15 of CPU and 2/16 = 0.125 of memory:
	// CPU needs 2 pods (0.15 < 0.2, 0.30 > 0.2), memory 1 (0.125 > 0.05): LB 2.
	if res.LowerBound != 2 {
		t.Errorf("LowerBound = %d, want 2", res.LowerBound)
	}
	if len(res.Moves) != 2 || !res.ClearsHotNodes {
		t.Fatalf("moves %v clears %v: want two moves that clear n1", res.Moves, res.ClearsHotNodes)
	}
	if h := heldBack(res, "c-0"); h == nil || !h.Has(planner.ReasonNodeCleared) {
		t.Errorf("c-0 held back %+v, want NodeNoLongerHot", h)
	}
}

func TestPlanPredictsTheScheduler(t *testing.T) {
	// n1 is hot by usage but has the fewest requests: pods there request little and use a lot.
	// The default scheduler would put a replacement straight back on n1; the Rebalancer's
	// scheduler, which scores usage and penalises hot nodes, would not.
	build := func(schedulerName string) *world {
		w := newWorld()
		w.node("n1", 3600, 12)
		w.node("n2", 600, 2)
		w.pod(testutil.Pod("heavy").Namespace("prod").Node("n2").OwnedBy("ReplicaSet", "heavy").CPU("3").Memory("12Gi"), 600, 2)
		for _, name := range []string{"w-0", "w-1", "w-2"} {
			b := testutil.Pod(name).Namespace("prod").Node("n1").OptIn().Label("app", "w").OwnedBy("ReplicaSet", "w").CPU("100m").Memory("128Mi")
			if schedulerName != "" {
				b = b.SchedulerName(schedulerName)
			}
			w.pod(b, 1200, 4)
		}
		return w
	}
	res := build("").plan()
	if len(res.Moves) != 0 {
		t.Fatalf("default scheduler: moves %v, want none", res.Moves)
	}
	if h := heldBack(res, "w-0"); h == nil || !h.Has(planner.ReasonLandsOnSameNode) || !strings.Contains(h.Reasons[0].Message, "back on n1") {
		t.Errorf("w-0 held back %+v, want LandsOnSameNode naming n1", h)
	}
	res = build(v1alpha1.SchedulerName).plan()
	if len(res.Moves) == 0 || res.Moves[0].To != "n2" || res.Moves[0].Scheduler != v1alpha1.SchedulerName {
		t.Errorf("rebalancer-scheduler: moves %v, want w-* to n2", res.Moves)
	}
}

func TestPlanHoldsBackWhenNothingFits(t *testing.T) {
	w := newWorld()
	w.node("n1", 3600, 12, func(b *testutil.NodeBuilder) { b.Label("zone", "a") })
	w.node("n2", 400, 1, func(b *testutil.NodeBuilder) { b.Label("zone", "b") })
	w.node("n3", 3700, 13, func(b *testutil.NodeBuilder) { b.Label("zone", "c") })
	for _, name := range []string{"z-0", "z-1"} {
		w.pod(testutil.Pod(name).Namespace("prod").Node("n1").OptIn().OwnedBy("ReplicaSet", "z").NodeSelector("zone", "a").CPU("600m").Memory("2Gi"), 600, 2)
	}
	for _, name := range []string{"h-0", "h-1"} {
		w.pod(testutil.Pod(name).Namespace("prod").Node("n1").OptIn().OwnedBy("ReplicaSet", "h").
			Toleration("x", "y", corev1.TaintEffectNoSchedule).CPU("600m").Memory("2Gi"), 600, 2)
	}
	w.snap.Nodes[1].Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	res := w.plan()
	if h := heldBack(res, "z-0"); h == nil || !h.Has(planner.ReasonLandsOnSameNode) {
		t.Errorf("z-0 (nodeSelector zone=a): %+v, want LandsOnSameNode", h)
	}
	// h-* cannot go to n2 (tainted); n3 is hot too.
	if h := heldBack(res, "h-0"); h == nil || (!h.Has(planner.ReasonLandsOnHotNode) && !h.Has(planner.ReasonLandsOnSameNode)) {
		t.Errorf("h-0: %+v, want LandsOnHotNode or LandsOnSameNode", h)
	}
	if len(res.Moves) != 0 {
		t.Errorf("moves %v, want none", res.Moves)
	}
}

func TestPlanRateLimits(t *testing.T) {
	cases := []struct {
		name      string
		limits    v1alpha1.RateLimits
		wantMoves int
		wantCode  planner.ReasonCode
	}{
		{"per cycle", v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1), MaxEvictionsPerNodePerCycle: ptr.To[int32](1)}, 1, planner.ReasonCycleLimit},
		{"per node", v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](5), MaxEvictionsPerNodePerCycle: ptr.To[int32](1)}, 1, planner.ReasonNodeCycleLimit},
		{"zero pauses the policy", v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](0), MaxEvictionsPerNodePerCycle: ptr.To[int32](0)}, 0, planner.ReasonCycleLimit},
		{"per hour", v1alpha1.RateLimits{MaxEvictionsPerHour: ptr.To[int32](0)}, 0, planner.ReasonHourlyLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("n1", 3900, 15)
			w.node("n2", 100, 1)
			w.node("n3", 100, 1)
			for _, rs := range []string{"a", "b", "c"} {
				w.replicas(rs, 2, 1000, 4, "n1")
			}
			w.policy.Spec.RateLimits = &tc.limits
			res := w.plan()
			if len(res.Moves) != tc.wantMoves {
				t.Fatalf("moves %v, want %d", res.Moves, tc.wantMoves)
			}
			if res.HeldBackByReason()[tc.wantCode] == 0 {
				t.Errorf("no candidate held back with %s: %v", tc.wantCode, res.HeldBack)
			}
		})
	}
}

func TestPlanWorkloadSLOBudget(t *testing.T) {
	// Two hot pods of one workload, WorkloadSLO maxDisruptionsPerHour 1, no backoff between them:
	// one is evicted, the other waits with "budget exhausted".
	w := newWorld()
	w.node("n1", 4000, 16)
	w.node("n2", 100, 1)
	w.node("n3", 100, 1)
	w.replicas("api", 2, 400, 1, "n1")
	w.replicas("api2", 2, 100, 1, "n2", "n3")
	w.slo("api", "api", func(s *v1alpha1.WorkloadSLO) { s.Spec.MinAvailable = ptr.To(intstrInt(0)) })
	w.policy.Spec.PodBackoff = &metav1.Duration{}
	res := w.plan()
	if len(res.Moves) != 1 {
		t.Fatalf("moves %v, want exactly one", res.Moves)
	}
	other := "api-1"
	if res.Moves[0].Pod.Name == "api-1" {
		other = "api-0"
	}
	h := heldBack(res, other)
	if h == nil || !h.Has(planner.ReasonSLOBudget) || !strings.Contains(h.String(), "budget exhausted") {
		t.Errorf("%s held back %+v, want a reason containing \"budget exhausted\"", other, h)
	}
	if got := res.Moves[0].SLOs; len(got) != 1 || got[0] != "prod/api" {
		t.Errorf("move spends SLOs %v, want [prod/api]", got)
	}
}

func TestPlanMinSigmaImprovement(t *testing.T) {
	w := skewed()
	w.policy.Spec.MinSigmaImprovement = ptr.To(0.5)
	res := w.plan()
	if len(res.Moves) != 0 || res.HeldBackByReason()[planner.ReasonTooLittleGain] == 0 {
		t.Errorf("moves %v held %v: want none, with TooLittleImprovement", res.Moves, res.HeldBackByReason())
	}
}

// TestPlanDefaultGainOnLargeCluster: on thousands of nodes one eviction lowers sigma by a few
// hundred-thousandths, so a fixed floor that suits tens of nodes (the old default, 0.0001) holds
// back most useful moves. The default, 0, lets every move that lowers sigma through.
func TestPlanDefaultGainOnLargeCluster(t *testing.T) {
	w := plannertest.Cluster(plannertest.Spec{Seed: 3, Nodes: 2000, PodsPerNode: 20, Replicas: 5, HotFraction: 0.1, OptIn: 0.8})
	w.Policy.Spec.RateLimits = rateLimits(100)
	for _, tc := range []struct {
		name     string
		gain     *float64
		wantHeld bool
	}{
		{name: "default", gain: nil, wantHeld: false},
		{name: "0.0001", gain: ptr.To(0.0001), wantHeld: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.Policy.Spec.MinSigmaImprovement = tc.gain
			res := planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
			held := res.HeldBackByReason()[planner.ReasonTooLittleGain]
			if (held > 0) != tc.wantHeld {
				t.Errorf("%d candidates held back for too little gain, want any: %v", held, tc.wantHeld)
			}
			if !tc.wantHeld && len(res.Moves) != 100 {
				t.Errorf("%d moves, want the cycle's limit of 100 (held back: %v)", len(res.Moves), res.HeldBackByReason())
			}
			for _, m := range res.Moves {
				if m.SigmaAfter >= m.SigmaBefore {
					t.Errorf("move %s does not lower sigma: %.6f -> %.6f", m.Pod.Name, m.SigmaBefore, m.SigmaAfter)
				}
			}
		})
	}
}

func TestPlanHysteresisAcrossCycles(t *testing.T) {
	w := skewed()
	w.policy.Spec.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: 3, Margin: ptr.To(0.05)}
	for cycle := 1; cycle <= 3; cycle++ {
		res := w.plan()
		wantHot := 0
		if cycle == 3 {
			wantHot = 1
		}
		if res.HotNodes != wantHot {
			t.Fatalf("cycle %d: %d hot nodes, want %d", cycle, res.HotNodes, wantHot)
		}
		if (len(res.Moves) > 0) != (cycle == 3) {
			t.Fatalf("cycle %d: moves %v", cycle, res.Moves)
		}
		w.state = res.State
	}
}

func TestPlanStaleMetrics(t *testing.T) {
	t.Run("all stale", func(t *testing.T) {
		w := skewed()
		for n, s := range w.snap.Usage.Nodes {
			s.Time = now.Add(-10 * time.Minute)
			w.snap.Usage.Nodes[n] = s
		}
		res := w.plan()
		if len(res.Blockers) != 1 || res.Blockers[0].Reason != v1alpha1.ReasonMetricsStale || len(res.Moves) != 0 {
			t.Fatalf("blockers %v moves %v, want MetricsStale and nothing evicted", res.Blockers, res.Moves)
		}
	})
	t.Run("missing", func(t *testing.T) {
		w := skewed()
		clear(w.snap.Usage.Nodes)
		if res := w.plan(); len(res.Blockers) != 1 || len(res.Moves) != 0 {
			t.Fatalf("blockers %v moves %v", res.Blockers, res.Moves)
		}
	})
	t.Run("one stale node is left out", func(t *testing.T) {
		w := skewed()
		s := w.snap.Usage.Nodes["n2"]
		s.Time = now.Add(-10 * time.Minute)
		w.snap.Usage.Nodes["n2"] = s
		res := w.plan()
		if len(res.Excluded) != 1 || res.Excluded[0].Name != "n2" || !strings.Contains(res.Excluded[0].Reason, "staleAfter") {
			t.Fatalf("excluded %v, want n2 for staleness", res.Excluded)
		}
		for _, m := range res.Moves {
			if m.To == "n2" {
				t.Errorf("move to a node without fresh usage: %v", m)
			}
		}
	})
}

func TestPlanNodeClassProfileAndCapacity(t *testing.T) {
	// Two cold destinations, an x86 server and a Raspberry Pi 4 (capacityFactor 0.5). A cpu-bound
	// pod of the Rebalancer's scheduler goes to the class that prefers cpu-bound work.
	w := newWorld()
	w.node("hot", 3800, 14)
	w.node("x86", 400, 2, func(b *testutil.NodeBuilder) { b.Label("class", "x86") })
	w.node("pi", 400, 1, func(b *testutil.NodeBuilder) {
		b.Label("class", "pi").Label(corev1.LabelArchStable, "arm64").Allocatable("4", "8Gi")
	})
	w.snap.NodeClasses = []*v1alpha1.NodeClass{
		nodeClass("x86", "class", "x86", 50, 1, v1alpha1.ProfileCPUBound),
		nodeClass("rpi4", "class", "pi", 50, 0.5, v1alpha1.ProfileBalanced),
	}
	for _, name := range []string{"c-0", "c-1"} {
		w.pod(testutil.Pod(name).Namespace("prod").Node("hot").OptIn().OwnedBy("ReplicaSet", "c").Label(v1alpha1.ProfileKey, "cpu-bound").
			SchedulerName(v1alpha1.SchedulerName).CPU("500m").Memory("1Gi"), 1500, 1)
	}
	res := w.plan()
	if len(res.Moves) == 0 || res.Moves[0].To != "x86" {
		t.Fatalf("moves %v, want the cpu-bound pod on x86", res.Moves)
	}
	var pi planner.NodeReport
	for _, n := range res.Nodes {
		if n.Name == "pi" {
			pi = n
		}
	}
	// The Pi measures 400m of 4000m: 10% CPU whatever its speed; memory 1Gi of 8Gi.
	if pi.NodeClass != "rpi4" || math.Abs(pi.CPU-0.1) > 1e-9 || math.Abs(pi.Memory-0.125) > 1e-9 {
		t.Errorf("pi report %+v", pi)
	}
}

func TestPlanDestinationWouldTurnHot(t *testing.T) {
	w := newWorld()
	w.node("n1", 3900, 15.5)
	w.node("n2", 2800, 11)
	w.pod(testutil.Pod("big-0").Namespace("prod").Node("n1").OptIn().OwnedBy("ReplicaSet", "big").CPU("100m").Memory("100Mi"), 2000, 6)
	w.pod(testutil.Pod("big-1").Namespace("prod").Node("n2").OptIn().OwnedBy("ReplicaSet", "big").CPU("100m").Memory("100Mi"), 100, 0.1)
	w.pods[0].Spec.SchedulerName = v1alpha1.SchedulerName
	w.policy.Spec.Destinations = ptr.To(v1alpha1.DestinationsNotHot)
	res := w.plan()
	if h := heldBack(res, "big-0"); h == nil || !h.Has(planner.ReasonDestinationTurnsHot) {
		t.Errorf("big-0 %+v, want DestinationWouldTurnHot", h)
	}
}

// TestPlanDestinations: under destinations Cold (the default) a pod whose replacement would land
// on a normal node stays; under NotHot it moves there.
func TestPlanDestinations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dest     *v1alpha1.Destinations
		wantMove bool
	}{
		{"default is Cold", nil, false},
		{"Cold", ptr.To(v1alpha1.DestinationsCold), false},
		{"NotHot", ptr.To(v1alpha1.DestinationsNotHot), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			// n1 = 0.5*3600/4000 + 0.5*14/16 = 0.8875: hot. n2 = 0.5*0.5 + 0.5*0.5 = 0.5: normal.
			w.node("n1", 3600, 14)
			w.node("n2", 2000, 8)
			w.replicas("web", 2, 500, 1, "n1", "n2")
			for _, p := range w.pods {
				p.Spec.SchedulerName = v1alpha1.SchedulerName
			}
			w.policy.Spec.Destinations = tc.dest
			res := w.plan()
			if got := len(res.Moves) > 0; got != tc.wantMove {
				t.Fatalf("moves %v, want a move: %v", res.Moves, tc.wantMove)
			}
			if !tc.wantMove {
				if h := heldBack(res, "web-0"); h == nil || !h.Has(planner.ReasonDestinationNotCold) {
					t.Errorf("web-0 %+v, want DestinationNotCold", h)
				}
			}
		})
	}
}

func sigma(scores ...float64) float64 {
	return scoring.NewSpread(scores).Sigma()
}

func nodeClass(name, key, value string, weight int32, factor float64, profiles ...v1alpha1.WorkloadProfile) *v1alpha1.NodeClass {
	return &v1alpha1.NodeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.NodeClassSpec{
			NodeSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
			Weight:            ptr.To(weight),
			CapacityFactor:    ptr.To(factor),
			PreferredProfiles: profiles,
		},
	}
}

func TestLowerBound(t *testing.T) {
	cases := []struct {
		name      string
		n1CPU     float64
		n1Mem     float64
		podCPU    []float64 // one pod per entry, memory 0
		wantLB    int
		wantClear bool
	}{
		// n1: CPU 2800/4000 = 0.7, memory 0: busiest resource 0.7 < 0.75, not hot -> nothing needed
		{"not hot", 2800, 0, []float64{1000, 1000}, 0, true},
		// n1: CPU 3800/4000 = 0.95, memory 8/16 = 0.5: hot on CPU; it stops being hot under
		// 0.75 - margin 0.05 = 0.70: CPU excess 0.25, memory none. CPU shares: 800m -> 0.2,
		// 600m -> 0.15, 400m -> 0.1. 0.2 < 0.25; 0.2+0.15 = 0.35 > 0.25 -> LB 2
		{"two largest needed", 3800, 8, []float64{400, 800, 600}, 2, true},
		// the same node with only small pods: 0.05 each, need 6 (0.30 > 0.25), but only 3 exist -> LB 3
		{"cannot be cleared", 3800, 8, []float64{200, 200, 200}, 3, false},
		// memory-bound: CPU 0.1, memory 15/16 = 0.9375 (score 0.52, busiest resource 0.94): hot on
		// memory, excess 0.2375; pods use no memory here, so none can clear it -> LB 2 (all), not cleared
		{"hot on memory alone", 400, 15, []float64{100, 100}, 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.node("n1", tc.n1CPU, tc.n1Mem)
			w.node("n2", 0, 0)
			w.node("n3", 0, 0)
			w.policy.Spec.RateLimits = rateLimits(10)
			for i, c := range tc.podCPU {
				w.replicas(string(rune('a'+i)), 2, c, 0, "n1", "n2")
			}
			res := w.plan()
			if res.LowerBound != tc.wantLB {
				t.Errorf("LowerBound = %d, want %d", res.LowerBound, tc.wantLB)
			}
			if res.ClearsHotNodes != tc.wantClear {
				t.Errorf("ClearsHotNodes = %v, want %v (moves %v)", res.ClearsHotNodes, tc.wantClear, res.Moves)
			}
			if res.ClearsHotNodes && len(res.Moves) < res.LowerBound {
				t.Errorf("%d moves clear the node, below LB %d", len(res.Moves), res.LowerBound)
			}
		})
	}
}

// A policy with disruption windows plans every cycle, but moves only while a window is open:
// outside one each move is deferred (reported, held back OutsideDisruptionWindow).
func TestPlanDisruptionWindows(t *testing.T) {
	opens := now.Truncate(time.Hour).Add(time.Hour)
	daily := v1alpha1.DisruptionWindow{Schedule: opens.Format("4 15") + " * * *", Duration: metav1.Duration{Duration: 30 * time.Minute}}
	tests := []struct {
		name     string
		at       time.Time
		windows  []v1alpha1.DisruptionWindow
		moves    int
		deferred int
		blocker  string
	}{
		{name: "no windows: always", at: opens.Add(-time.Second), moves: 1},
		{name: "a second before the window opens", at: opens.Add(-time.Second), windows: []v1alpha1.DisruptionWindow{daily}, deferred: 1},
		{name: "as the window opens", at: opens, windows: []v1alpha1.DisruptionWindow{daily}, moves: 1},
		{name: "the last second of the window", at: opens.Add(30*time.Minute - time.Second), windows: []v1alpha1.DisruptionWindow{daily}, moves: 1},
		{name: "as the window closes", at: opens.Add(30 * time.Minute), windows: []v1alpha1.DisruptionWindow{daily}, deferred: 1},
		{name: "a schedule that does not parse", at: opens, windows: []v1alpha1.DisruptionWindow{{Schedule: "0 25 * * *", Duration: metav1.Duration{Duration: time.Hour}}},
			blocker: v1alpha1.ReasonInvalidDisruptionWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := skewed()
			w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1)}
			w.policy.Spec.DisruptionWindows = tt.windows
			// Readings taken at the planning time.
			for k, s := range w.snap.Usage.Nodes {
				s.Time = tt.at
				w.snap.Usage.Nodes[k] = s
			}
			for k, s := range w.snap.Usage.Pods {
				s.Time = tt.at
				w.snap.Usage.Pods[k] = s
			}
			res := planner.Plan(w.snapshot(), w.policy, w.slos, w.state, tt.at)
			if tt.blocker != "" {
				if len(res.Blockers) != 1 || res.Blockers[0].Reason != tt.blocker || !strings.Contains(res.Blockers[0].Message, "spec.disruptionWindows[0].schedule") {
					t.Fatalf("blockers %+v, want %s naming the field", res.Blockers, tt.blocker)
				}
				return
			}
			if len(res.Moves) != tt.moves || len(res.Deferred) != tt.deferred {
				t.Fatalf("moves %d deferred %d, want %d and %d", len(res.Moves), len(res.Deferred), tt.moves, tt.deferred)
			}
			if got := res.HeldBackByReason()[planner.ReasonOutsideWindow]; got != tt.deferred {
				t.Errorf("held back OutsideDisruptionWindow %d, want %d", got, tt.deferred)
			}
			if (res.Window == nil) != (tt.windows == nil) {
				t.Errorf("window state %+v for windows %v", res.Window, tt.windows)
			}
			if tt.deferred > 0 && !res.Window.NextOpensAt.Equal(nextOpening(tt.at, opens)) {
				t.Errorf("next opening %s, want %s", res.Window.NextOpensAt, nextOpening(tt.at, opens))
			}
		})
	}
}

// nextOpening is the daily opening at opens' time of day next after at.
func nextOpening(at, opens time.Time) time.Time {
	for !opens.After(at) {
		opens = opens.Add(24 * time.Hour)
	}
	return opens
}
