package evictor

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// cycleFacts is what a cycle found; the policy's conditions follow from it (cycleConditions).
type cycleFacts struct {
	// dryRun is spec.dryRun with the API's default.
	dryRun bool
	// ownedByOlder counts the nodes an older valid policy keeps.
	ownedByOlder int
	// usage is MetricsAvailable as the usage source reported it.
	usage metav1.Condition
	// result is the plan; nil when none was made (the usage source failed).
	result *planner.Result
}

// cycleConditions is the one function from a cycle's facts to the policy's conditions; Ready
// follows from them (setConditions). A condition is never fine when nothing could be read or
// done: a plan blocked by its configuration or by stale readings says so, nodes left out for
// lack of a fresh reading are reported, and DryRun says what the spec asks and whether anything
// is evicted at all.
func cycleConditions(f cycleFacts) []metav1.Condition {
	out := []metav1.Condition{conflictCondition(f.ownedByOlder)}
	metricsCond, configCond := f.usage, condition(v1alpha1.ConditionConfigValid, metav1.ConditionTrue, v1alpha1.ReasonValid, "the spec is usable")
	if f.usage.Status != metav1.ConditionTrue && f.usage.Reason == v1alpha1.ReasonNoPrometheusAddress {
		configCond = condition(v1alpha1.ConditionConfigValid, metav1.ConditionFalse, v1alpha1.ReasonInvalid, f.usage.Message)
	}
	if res := f.result; res != nil {
		for _, b := range res.Blockers {
			c := condition(b.Condition, metav1.ConditionFalse, b.Reason, b.Message)
			switch b.Condition {
			case v1alpha1.ConditionConfigValid:
				configCond = c
			case v1alpha1.ConditionMetricsAvailable:
				metricsCond = c
			}
		}
		if metricsCond.Status == metav1.ConditionTrue {
			if n := leftOutForReadings(res.Excluded); n > 0 {
				metricsCond = condition(v1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, v1alpha1.ReasonPartialReadings,
					fmt.Sprintf("%d of the %d nodes the policy selects have no fresh usage reading and are left out (status.excludedNodes); the others are balanced", n, n+len(res.Nodes)))
			}
		}
	}
	dry := dryRunCondition(f.dryRun, metricsCond, configCond)
	if res := f.result; res != nil && dry.Reason == v1alpha1.ReasonDryRunDisabled && dry.Message == evictsMessage && res.Window != nil && !res.Window.Open {
		dry = condition(v1alpha1.ConditionDryRun, metav1.ConditionFalse, v1alpha1.ReasonOutsideDisruptionWindow,
			fmt.Sprintf("the policy evicts only inside its disruption windows and none is open (%s); until then it reports what it would evict", res.Window.Next()))
	}
	out = append(out, metricsCond, configCond, dry)
	return out
}

const evictsMessage = "the policy evicts"

// dryRunCondition is DryRun as the spec asks; its message says when nothing is evicted anyway.
func dryRunCondition(dryRun bool, blockers ...metav1.Condition) metav1.Condition {
	if dryRun {
		return condition(v1alpha1.ConditionDryRun, metav1.ConditionTrue, v1alpha1.ReasonDryRunEnabled, "the policy reports what it would evict and evicts nothing")
	}
	for _, b := range blockers {
		if b.Status == metav1.ConditionFalse {
			return condition(v1alpha1.ConditionDryRun, metav1.ConditionFalse, v1alpha1.ReasonDryRunDisabled,
				fmt.Sprintf("the policy evicts, but nothing is evicted while %s is False", b.Type))
		}
	}
	return condition(v1alpha1.ConditionDryRun, metav1.ConditionFalse, v1alpha1.ReasonDryRunDisabled, evictsMessage)
}

// leftOutForReadings counts the nodes left out for want of a fresh reading.
func leftOutForReadings(xs []planner.ExcludedNode) int {
	n := 0
	for _, x := range xs {
		if x.Code == planner.ExcludedNoReading || x.Code == planner.ExcludedStaleReading {
			n++
		}
	}
	return n
}

// conflictCondition is the Conflict condition for a policy excluded nodes of which belong to an
// older policy.
func conflictCondition(excluded int) metav1.Condition {
	if excluded > 0 {
		return condition(v1alpha1.ConditionConflict, metav1.ConditionTrue, v1alpha1.ReasonOverlapsOlderPolicy,
			fmt.Sprintf("%d of the nodes this policy selects belong to an older RebalancePolicy; nothing is evicted from them", excluded))
	}
	return condition(v1alpha1.ConditionConflict, metav1.ConditionFalse, v1alpha1.ReasonNoOverlap, "no other policy selects these nodes")
}

func condition(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	if len(msg) > 32768 {
		msg = msg[:32768]
	}
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

// setConditions merges conds into the list and derives Ready: True only when every condition that
// stops evictions is fine.
func setConditions(list *[]metav1.Condition, conds []metav1.Condition, generation int64, now time.Time) {
	ready := metav1.ConditionTrue
	reason, msg := v1alpha1.ReasonCycleSucceeded, "the last cycle ran with valid configuration and fresh usage"
	for _, c := range conds {
		c.ObservedGeneration = generation
		c.LastTransitionTime = metav1.NewTime(now)
		meta.SetStatusCondition(list, c)
		blocking := (c.Type == v1alpha1.ConditionConfigValid || c.Type == v1alpha1.ConditionMetricsAvailable) && c.Status == metav1.ConditionFalse
		if blocking && ready == metav1.ConditionTrue {
			ready, reason, msg = metav1.ConditionFalse, c.Reason, c.Message
		}
		if c.Type == v1alpha1.ConditionMetricsAvailable && c.Reason == v1alpha1.ReasonPartialReadings && ready == metav1.ConditionTrue {
			msg = "the last cycle ran with valid configuration on the nodes with fresh usage; " + c.Message
		}
	}
	meta.SetStatusCondition(list, metav1.Condition{Type: v1alpha1.ConditionReady, Status: ready, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now)})
}
