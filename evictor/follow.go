package evictor

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// Outcomes of a followed eviction, also the values of the replacement-outcomes metric.
const (
	FollowCooled    = "Cooled"
	FollowCameBack  = "CameBack"
	FollowNotCooled = "NotCooled"
)

// Followup is what became of an earlier eviction.
type Followup struct {
	Followed followed
	// Outcome is Cooled, CameBack or NotCooled.
	Outcome string
	// LandedOn is the node the replacement runs on, when one was found.
	LandedOn string
}

// follow checks earlier evictions: a replacement that came back to the node it left, or a node
// that did not cool within the follow window, backs the workload off (the eviction bought
// nothing), with an event that says so.
func (r *Reconciler) follow(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cluster, st *policyState, now time.Time) []Followup {
	logger := log.FromContext(ctx)
	interval := durationOr(p.Spec.Interval, v1alpha1.DefaultInterval)
	window := r.FollowWindow
	if window == 0 {
		window = 3 * interval
	}
	backoff := durationOr(p.Spec.PodBackoff, v1alpha1.DefaultPodBackoff)
	var out []Followup
	kept := st.followed[:0]
	for _, f := range st.followed {
		landed := replacementNode(cl, f)
		outcome := ""
		switch {
		case landed == f.Move.From:
			outcome = FollowCameBack
		case now.Sub(f.At) >= window:
			if score, ok := r.scores.get(f.Move.From); ok && score >= f.HotThreshold {
				outcome = FollowNotCooled
			} else {
				outcome = FollowCooled
			}
		}
		if outcome == "" {
			kept = append(kept, f)
			continue
		}
		r.Metrics.ReplacementOutcomes.WithLabelValues(outcome).Inc()
		out = append(out, Followup{Followed: f, Outcome: outcome, LandedOn: landed})
		switch outcome {
		case FollowCameBack:
			st.plan.Backoff = withBackoff(st.plan.Backoff, f.Move.Workload, now.Add(backoff), "its last replacement came back to the node it was evicted from")
			r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "ReplacementCameBack", "Follow",
				"The replacement of %s landed back on %s; backing %s off for %s", f.Move.Pod, f.Move.From, f.Move.Workload, backoff)
			logger.Info("Replacement came back to the node it left", "pod", f.Move.Pod.String(), "node", f.Move.From, "workload", f.Move.Workload.String())
		case FollowNotCooled:
			st.plan.Backoff = withBackoff(st.plan.Backoff, f.Move.Workload, now.Add(backoff), "evicting it did not cool its node")
			r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "NodeNotCooled", "Follow",
				"Node %s is still hot %s after evicting %s; backing %s off for %s", f.Move.From, window, f.Move.Pod, f.Move.Workload, backoff)
			logger.Info("Node did not cool after eviction", "pod", f.Move.Pod.String(), "node", f.Move.From)
		}
	}
	st.followed = kept
	return out
}

// replacementNode is the node of the first pod of the workload created after the eviction: its
// replacement (a later one would belong to a later eviction of the same workload).
func replacementNode(cl *cluster, f followed) string {
	var first *planner.Pod
	for _, p := range cl.snap.Pods {
		if p.Namespace != f.Move.Pod.Namespace || p.NodeName == "" || p.Created().Before(f.At.Add(-time.Second)) {
			continue
		}
		ref := p.Owner
		if ref == nil || ref.Kind != f.Move.Workload.Kind || ref.Name != f.Move.Workload.Name || p.UID == f.Move.Pod.UID {
			continue
		}
		if first == nil || p.Created().Before(first.Created()) {
			first = p
		}
	}
	if first == nil {
		return ""
	}
	return first.NodeName
}
