package evictor

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	tu "github.com/tinorodney/rebalancer/pkg/testutil"
)

// TestReportHeldBackIsBounded: thousands of candidates held back by an exhausted budget every
// cycle give at most maxHeldBackEvents pod events a cycle, each pod is told once while it stays
// held back for that reason, and the rest are counted in one event on the policy.
func TestReportHeldBackIsBounded(t *testing.T) {
	var pods []*corev1.Pod
	for i := range 25 {
		pods = append(pods, tu.Pod(fmt.Sprintf("web-%02d", i)).Namespace("prod").Node("n1").OwnedBy("ReplicaSet", "web").Obj())
	}
	cl := &cacheView{snap: planner.Snapshot{Pods: planner.NewPods(pods)}}
	held := func(names ...int) *planner.Result {
		res := &planner.Result{}
		for _, i := range names {
			res.HeldBack = append(res.HeldBack, planner.HeldBack{Pod: planner.PodRef{Namespace: "prod", Name: fmt.Sprintf("web-%02d", i)}, Node: "n1",
				Reasons: []planner.Reason{{Code: planner.ReasonHourlyLimit, Message: "rate limit: 30 evictions in the last hour"}}})
		}
		return res
	}
	all := make([]int, 25)
	for i := range all {
		all[i] = i
	}
	rec := events.NewFakeRecorder(100)
	r := &Reconciler{Metrics: metrics.NewEvictor(), Recorder: rec}
	p := &v1alpha1.RebalancePolicy{}
	p.Name = "default"
	st := &policyState{}
	drain := func() (podEvents int, summary string) {
		for {
			select {
			case e := <-rec.Events:
				if strings.Contains(e, "more candidates") {
					summary = e
				} else {
					podEvents++
				}
			default:
				return podEvents, summary
			}
		}
	}
	for _, tc := range []struct {
		name        string
		res         *planner.Result
		wantPod     int
		wantSummary string // substring; "" for no summary event
	}{
		{"first cycle: 25 held back", held(all...), maxHeldBackEvents, "BudgetExhausted 15 more candidates"},
		{"second cycle: the 15 untold", held(all...), maxHeldBackEvents, "BudgetExhausted 5 more candidates"},
		{"third cycle: the last 5", held(all...), 5, ""},
		{"fourth cycle: every pod told", held(all...), 0, ""},
		{"pods 0-4 no longer held back", held(all[5:]...), 0, ""},
		{"pods 0-4 held back again: told again", held(all...), 5, ""},
	} {
		r.reportHeldBack(p, cl, st, tc.res)
		gotPod, summary := drain()
		if gotPod != tc.wantPod {
			t.Errorf("%s: %d pod events, want %d", tc.name, gotPod, tc.wantPod)
		}
		if (tc.wantSummary == "") != (summary == "") || !strings.Contains(summary, tc.wantSummary) {
			t.Errorf("%s: policy event %q, want one containing %q", tc.name, summary, tc.wantSummary)
		}
	}
}
