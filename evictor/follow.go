package evictor

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// Outcomes of a followed eviction, also the values of the replacement-outcomes metric. Each
// eviction is judged by what its own move predicted, not by whether the node stopped being hot:
// one eviction from a node at 0.95 was never predicted to bring it under the threshold.
const (
	// FollowCooled: the move did what it predicted: the replacement landed where predicted and
	// the node it left fell by at least half the predicted drop.
	FollowCooled = "Cooled"
	// FollowCameBack: the replacement landed back on the node it left.
	FollowCameBack = "CameBack"
	// FollowNotCooled: the node it left did not fall by half the predicted drop.
	FollowNotCooled = "NotCooled"
	// FollowMisplaced: the replacement landed outside the set of nodes predicted for it.
	FollowMisplaced = "Misplaced"
)

// Followup is what became of an earlier eviction.
type Followup struct {
	Followed followed
	// Outcome is Cooled, CameBack, NotCooled or Misplaced.
	Outcome string
	// LandedOn is the node the replacement runs on, when one was found.
	LandedOn string
}

// follow checks earlier evictions against their own predictions: where the replacement landed
// (counted in rebalancer_placement_predictions_total as soon as it is seen, with an event on a
// miss) and, once the follow window has passed, how far the node it left fell. A move that did
// not do what it predicted backs the workload off, with an event that says why.
func (r *Reconciler) follow(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cacheView, st *policyState, now time.Time) []Followup {
	interval := v1alpha1.Duration(p.Spec.Interval, v1alpha1.DefaultInterval)
	window := r.FollowWindow
	if window == 0 {
		window = 3 * interval
	}
	backoff := v1alpha1.Duration(p.Spec.PodBackoff, v1alpha1.DefaultPodBackoff)
	var out []Followup
	claimed := map[types.UID]bool{}
	for _, f := range st.followed {
		if f.LandedPod != "" {
			claimed[f.LandedPod] = true
		}
	}
	kept := st.followed[:0]
	for _, f := range st.followed {
		if f.Landed == "" {
			if rp := replacementOf(cl, f, claimed); rp != nil {
				f.Landed, f.LandedPod = rp.NodeName, rp.UID
				claimed[rp.UID] = true
				r.recordPrediction(p, f)
			}
		}
		outcome := ""
		switch {
		case f.Landed == f.Move.From:
			outcome = FollowCameBack
		case now.Sub(f.At) < window:
		case f.Landed == "":
			r.Metrics.PlacementPredictions.WithLabelValues(f.Move.Scheduler, metrics.OutcomeUnscheduled).Inc()
			outcome = FollowNotCooled
			if score, ok := r.scores.get(f.Move.From); !ok || cooledAsPredicted(f, score) {
				outcome = FollowCooled
			}
		case f.Move.Confirmed && !LandedAsPredicted(f.Move, f.Landed):
			outcome = FollowMisplaced
		default:
			outcome = FollowCooled
			if score, ok := r.scores.get(f.Move.From); ok && !cooledAsPredicted(f, score) {
				outcome = FollowNotCooled
			}
		}
		if outcome == "" {
			kept = append(kept, f)
			continue
		}
		r.Metrics.ReplacementOutcomes.WithLabelValues(outcome).Inc()
		out = append(out, Followup{Followed: f, Outcome: outcome, LandedOn: f.Landed})
		r.backOffIfMissed(ctx, p, st, f, outcome, backoff, now)
	}
	st.followed = kept
	return out
}

// cooledAsPredicted: the node the pod left fell by at least half the drop the move predicted
// (readings are noisy; a move that bought half of what it promised still did its job).
//
//	predicted drop = score before - Move.SourceAfter,   observed drop = score before - score now
func cooledAsPredicted(f followed, now float64) bool {
	want := f.SourceBefore - f.Move.SourceAfter
	return f.SourceBefore-now >= want/2
}

// LandedAsPredicted reports whether node is in the set the move predicted (its To when it has
// none, or when the move was steered to To): the "exact" outcome of
// rebalancer_placement_predictions_total.
func LandedAsPredicted(m planner.Move, node string) bool {
	if m.Steered || len(m.Possible) == 0 {
		return node == m.To
	}
	return slices.Contains(m.Possible, node)
}

// recordPrediction counts where the replacement landed against the prediction, and says so on
// the policy when it missed.
func (r *Reconciler) recordPrediction(p *v1alpha1.RebalancePolicy, f followed) {
	outcome := metrics.OutcomeExact
	if !LandedAsPredicted(f.Move, f.Landed) {
		switch f.Classes[f.Landed] {
		case scoring.Cold:
			outcome = metrics.OutcomeCold
		case scoring.Hot:
			outcome = metrics.OutcomeHot
		default:
			outcome = metrics.OutcomeNotHot
		}
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "PlacementMispredicted", "Follow",
			"The replacement of %s landed on %s (%s), not on the predicted %s", f.Move.Pod, f.Landed, outcome, predictedSet(f.Move))
	}
	r.Metrics.PlacementPredictions.WithLabelValues(f.Move.Scheduler, outcome).Inc()
}

func predictedSet(m planner.Move) string {
	if len(m.Possible) <= 1 {
		return m.To
	}
	return fmt.Sprintf("%s (one of %d nodes)", m.To, len(m.Possible))
}

func (r *Reconciler) backOffIfMissed(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, f followed, outcome string, backoff time.Duration, now time.Time) {
	logger := log.FromContext(ctx)
	switch outcome {
	case FollowCameBack:
		st.plan.Backoff = withBackoff(st.plan.Backoff, f.Move.Workload, now.Add(backoff), "its last replacement came back to the node it was evicted from")
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "ReplacementCameBack", "Follow",
			"The replacement of %s landed back on %s; backing %s off for %s", f.Move.Pod, f.Move.From, f.Move.Workload, backoff)
		logger.Info("Replacement came back to the node it left", "pod", f.Move.Pod.String(), "node", f.Move.From, "workload", f.Move.Workload.String())
	case FollowMisplaced:
		st.plan.Backoff = withBackoff(st.plan.Backoff, f.Move.Workload, now.Add(backoff), "its last replacement landed outside the predicted nodes")
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "ReplacementMisplaced", "Follow",
			"The replacement of %s landed on %s, not on the predicted %s; backing %s off for %s", f.Move.Pod, f.Landed, predictedSet(f.Move), f.Move.Workload, backoff)
		logger.Info("Replacement landed outside the prediction", "pod", f.Move.Pod.String(), "landed", f.Landed, "predicted", f.Move.To)
	case FollowNotCooled:
		score, _ := r.scores.get(f.Move.From)
		st.plan.Backoff = withBackoff(st.plan.Backoff, f.Move.Workload, now.Add(backoff), "evicting it did not lower its node as predicted")
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, "NodeNotCooled", "Follow",
			"Node %s is at %.3f after evicting %s, predicted %.3f (from %.3f); backing %s off for %s", f.Move.From, score, f.Move.Pod, f.Move.SourceAfter, f.SourceBefore, f.Move.Workload, backoff)
		logger.Info("Node did not cool as predicted", "pod", f.Move.Pod.String(), "node", f.Move.From, "score", score, "predicted", f.Move.SourceAfter)
	}
}

// mayReplace reports whether p may be the replacement of m's pod, evicted at evictedAt: a pod of
// its workload, bound to a node, created since the eviction, neither the evicted pod nor one
// another eviction claimed. Creation times are whole seconds: a pod created within the second
// before evictedAt still counts.
func mayReplace(p *planner.Pod, m planner.Move, evictedAt time.Time, claimed map[types.UID]bool) bool {
	if p.Namespace != m.Pod.Namespace || p.NodeName == "" || p.UID == m.Pod.UID || claimed[p.UID] || p.Created().Before(evictedAt.Add(-time.Second)) {
		return false
	}
	return p.Owner != nil && p.Owner.Kind == m.Workload.Kind && p.Owner.Name == m.Workload.Name
}

// replacementOf pairs the eviction with its replacement: a pod of the workload, on a node,
// created after the eviction and not paired with another eviction (claimed). The pods of a
// workload are alike, so when several evictions of one workload are followed at once (their
// replacements land in any order), a pod on a node the eviction predicted is taken first; else
// the first one created (a later one would belong to a later eviction).
func replacementOf(cl *cacheView, f followed, claimed map[types.UID]bool) *planner.Pod {
	var first, predicted *planner.Pod
	for _, p := range cl.snap.Pods {
		if !mayReplace(p, f.Move, f.At, claimed) {
			continue
		}
		if first == nil || p.Created().Before(first.Created()) {
			first = p
		}
		if LandedAsPredicted(f.Move, p.NodeName) && (predicted == nil || p.Created().Before(predicted.Created())) {
			predicted = p
		}
	}
	if predicted != nil {
		return predicted
	}
	return first
}
