package evictor

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/windows"
)

// Every combination of what a cycle can find, and the conditions it must report: a condition never
// says "fine" when nothing could be read or done.
func TestCycleConditions(t *testing.T) {
	fresh := condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, v1alpha1.ReasonMetricsFresh, "usage readings are available")
	down := condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, v1alpha1.ReasonSourceUnavailable, "metrics-server: connection refused")
	noAddress := condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, v1alpha1.ReasonNoPrometheusAddress, "no Prometheus address")
	invalid := planner.Blocker{Condition: v1alpha1.ConditionConfigValid, Reason: v1alpha1.ReasonInvalid, Message: "spec.podSelector: bad operator"}
	stale := planner.Blocker{Condition: v1alpha1.ConditionMetricsAvailable, Reason: v1alpha1.ReasonMetricsStale, Message: "no fresh usage reading for any of the 2 nodes"}
	node := planner.NodeReport{Name: "n1"}
	noReading := planner.ExcludedNode{Name: "n2", Code: planner.ExcludedNoReading, Reason: "no usage reading"}
	staleReading := planner.ExcludedNode{Name: "n3", Code: planner.ExcludedStaleReading, Reason: "usage reading is 5m old"}
	owned := planner.ExcludedNode{Name: "n4", Code: planner.ExcludedOtherPolicy, Reason: "owned by the older RebalancePolicy a"}

	type want struct{ Status, Reason string }
	tests := []struct {
		name string
		f    cycleFacts
		want map[string]want
	}{
		{name: "all fine, dry-run", f: cycleFacts{dryRun: true, usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "ConfigValid": {"True", "Valid"}, "MetricsAvailable": {"True", "MetricsFresh"}, "DryRun": {"True", "DryRunEnabled"}, "Conflict": {"False", "NoOverlap"}}},
		{name: "all fine, live", f: cycleFacts{usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "DryRun": {"False", "DryRunDisabled"}}},
		{name: "invalid spec that asks for dry-run", f: cycleFacts{dryRun: true, usage: fresh, result: &planner.Result{Blockers: []planner.Blocker{invalid}}},
			want: map[string]want{"Ready": {"False", "Invalid"}, "ConfigValid": {"False", "Invalid"}, "DryRun": {"True", "DryRunEnabled"}}},
		{name: "invalid spec, live", f: cycleFacts{usage: fresh, result: &planner.Result{Blockers: []planner.Blocker{invalid}}},
			want: map[string]want{"Ready": {"False", "Invalid"}, "DryRun": {"False", "DryRunDisabled"}}},
		{name: "usage source down", f: cycleFacts{usage: down},
			want: map[string]want{"Ready": {"False", "SourceUnavailable"}, "MetricsAvailable": {"False", "SourceUnavailable"}, "ConfigValid": {"True", "Valid"}}},
		{name: "prometheus without an address", f: cycleFacts{usage: noAddress},
			want: map[string]want{"Ready": {"False", "NoPrometheusAddress"}, "ConfigValid": {"False", "Invalid"}, "MetricsAvailable": {"False", "NoPrometheusAddress"}}},
		{name: "no node has a reading", f: cycleFacts{usage: fresh, result: &planner.Result{Blockers: []planner.Blocker{stale}, Excluded: []planner.ExcludedNode{noReading, staleReading}}},
			want: map[string]want{"Ready": {"False", "MetricsStale"}, "MetricsAvailable": {"False", "MetricsStale"}, "ConfigValid": {"True", "Valid"}}},
		{name: "some nodes without a reading", f: cycleFacts{usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}, Excluded: []planner.ExcludedNode{noReading, staleReading}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "MetricsAvailable": {"True", "PartialReadings"}}},
		{name: "live, outside the disruption windows", f: cycleFacts{usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}, Window: &windows.State{NextOpensAt: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "DryRun": {"False", "OutsideDisruptionWindow"}}},
		{name: "live, inside a disruption window", f: cycleFacts{usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}, Window: &windows.State{Open: true}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "DryRun": {"False", "DryRunDisabled"}}},
		{name: "dry-run, outside the disruption windows", f: cycleFacts{dryRun: true, usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}, Window: &windows.State{}}},
			want: map[string]want{"DryRun": {"True", "DryRunEnabled"}}},
		{name: "conflict with an older policy", f: cycleFacts{ownedByOlder: 1, usage: fresh, result: &planner.Result{Nodes: []planner.NodeReport{node}, Excluded: []planner.ExcludedNode{owned}}},
			want: map[string]want{"Ready": {"True", "CycleSucceeded"}, "Conflict": {"True", "OverlapsOlderPolicy"}, "MetricsAvailable": {"True", "MetricsFresh"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var list []metav1.Condition
			setConditions(&list, cycleConditions(tc.f), 1, time.Now())
			got := map[string]want{}
			for typ := range tc.want {
				c := meta.FindStatusCondition(list, typ)
				if c == nil {
					t.Fatalf("no %s condition in %v", typ, list)
				}
				got[typ] = want{string(c.Status), c.Reason}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions (-want,+got):\n%s", diff)
			}
		})
	}
}
