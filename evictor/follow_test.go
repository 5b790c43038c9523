package evictor

import (
	"context"
	"slices"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	tu "github.com/tinorodney/rebalancer/pkg/testutil"
)

// TestReplacementOf: the replacement of an eviction is the first pod of the workload created
// after it, not a later one that replaced a later eviction of the same workload; with several
// evictions of the workload followed at once each gets a pod of its own, one on a node it
// predicted first.
func TestReplacementOf(t *testing.T) {
	at := tu.Epoch.Add(time.Hour)
	pod := func(name, node string, created time.Time) *corev1.Pod {
		return tu.Pod(name).Namespace("prod").Node(node).OwnedBy("ReplicaSet", "web").Created(created).Obj()
	}
	cl := &cacheView{snap: planner.Snapshot{Pods: planner.NewPods([]*corev1.Pod{
		pod("web-old", "n1", tu.Epoch),
		pod("web-later", "n4", at.Add(2*time.Minute)),
		pod("web-first", "n3", at.Add(10*time.Second)),
		tu.Pod("other").Namespace("prod").Node("n9").OwnedBy("ReplicaSet", "api").Created(at.Add(5 * time.Second)).Obj(),
	})}}
	web := planner.WorkloadKey{Namespace: "prod", Kind: "ReplicaSet", Name: "web"}
	f := followed{At: at, Move: planner.Move{Pod: planner.PodRef{Namespace: "prod", Name: "web-evicted"}, Workload: web, From: "n1", To: "n7"}}
	name := func(p *planner.Pod) string {
		if p == nil {
			return ""
		}
		return p.Name
	}
	tests := []struct {
		name    string
		f       followed
		claimed []string
		want    string
	}{
		{name: "the first pod after the eviction", f: f, want: "web-first"},
		{name: "no pod after the eviction", f: followed{At: at.Add(time.Hour), Move: f.Move}, want: ""},
		{name: "the first pod is another eviction's", f: f, claimed: []string{"web-first"}, want: "web-later"},
		{name: "a pod on the predicted node first", f: followed{At: at, Move: planner.Move{Pod: f.Move.Pod, Workload: web, From: "n1", To: "n4", Steered: true}}, want: "web-later"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claimed := map[types.UID]bool{}
			for _, p := range cl.snap.Pods {
				if slices.Contains(tc.claimed, p.Name) {
					claimed[p.UID] = true
				}
			}
			if got := name(replacementOf(cl, tc.f, claimed)); got != tc.want {
				t.Errorf("replacement %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFollowJudgesByTheMovesOwnPrediction: each eviction is judged against what its own move
// predicted: where the replacement lands (counted per scheduler and outcome) and how far the node
// it left falls. A node still above its hot threshold after one eviction that was never meant to
// cool it alone is not a failure.
func TestFollowJudgesByTheMovesOwnPrediction(t *testing.T) {
	at := tu.Epoch.Add(time.Hour)
	window := 3 * time.Minute
	cases := []struct {
		name string
		// landed is where the replacement runs ("" for nowhere yet).
		landed string
		// possible is the move's predicted set; sourceNow the node's score a window later.
		possible    []string
		sourceNow   float64
		wantOutcome string
		wantPlace   string
		wantBackoff bool
	}{
		// 0.95 -> predicted 0.90, read 0.91: fell by 0.04 of the 0.05 promised (more than half).
		{name: "did what it predicted on a hot node", landed: "cold-1", possible: []string{"cold-1"}, sourceNow: 0.91,
			wantOutcome: FollowCooled, wantPlace: metrics.OutcomeExact},
		// Fell by 0.01 of 0.05: less than half of the promise.
		{name: "source did not fall as predicted", landed: "cold-1", possible: []string{"cold-1"}, sourceNow: 0.94,
			wantOutcome: FollowNotCooled, wantPlace: metrics.OutcomeExact, wantBackoff: true},
		{name: "landed elsewhere, on a normal node", landed: "normal-1", possible: []string{"cold-1", "cold-2"}, sourceNow: 0.90,
			wantOutcome: FollowMisplaced, wantPlace: metrics.OutcomeNotHot, wantBackoff: true},
		{name: "came back", landed: "hot-1", possible: []string{"cold-1"}, sourceNow: 0.95,
			wantOutcome: FollowCameBack, wantPlace: metrics.OutcomeHot, wantBackoff: true},
		{name: "never scheduled", possible: []string{"cold-1"}, sourceNow: 0.90,
			wantOutcome: FollowCooled, wantPlace: metrics.OutcomeUnscheduled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reconciler{Metrics: metrics.NewEvictor(), Recorder: events.NewFakeRecorder(10), FollowWindow: window}
			r.scores.set("hot-1", tc.sourceNow)
			pods := []*corev1.Pod{tu.Pod("web-old").Namespace("prod").Node("hot-1").OwnedBy("ReplicaSet", "web").Created(tu.Epoch).Obj()}
			if tc.landed != "" {
				pods = append(pods, tu.Pod("web-new").Namespace("prod").Node(tc.landed).OwnedBy("ReplicaSet", "web").Created(at.Add(time.Second)).Obj())
			}
			cl := &cacheView{snap: planner.Snapshot{Pods: planner.NewPods(pods)}}
			m := planner.Move{Pod: planner.PodRef{Namespace: "prod", Name: "web-evicted"}, Workload: planner.WorkloadKey{Namespace: "prod", Kind: "ReplicaSet", Name: "web"},
				From: "hot-1", To: tc.possible[0], Possible: tc.possible, Confirmed: true, Scheduler: "default-scheduler", SourceAfter: 0.90}
			st := &policyState{followed: []followed{{Move: m, At: at, SourceBefore: 0.95,
				Classes: map[string]scoring.Class{"hot-1": scoring.Hot, "cold-1": scoring.Cold, "cold-2": scoring.Cold, "normal-1": scoring.Normal}}}}
			p := &v1alpha1.RebalancePolicy{}
			out := r.follow(context.Background(), p, cl, st, at.Add(window))
			if len(out) != 1 || out[0].Outcome != tc.wantOutcome {
				t.Fatalf("followups %+v, want one %s", out, tc.wantOutcome)
			}
			if got := promtestutil.ToFloat64(r.Metrics.PlacementPredictions.WithLabelValues("default-scheduler", tc.wantPlace)); got != 1 {
				t.Errorf("%s{outcome=%s} = %v, want 1", metrics.PlacementPredictionsName, tc.wantPlace, got)
			}
			if _, backedOff := st.plan.Backoff[m.Workload]; backedOff != tc.wantBackoff {
				t.Errorf("workload backed off: %v, want %v", backedOff, tc.wantBackoff)
			}
		})
	}
}
