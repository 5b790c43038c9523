package evictor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/windows"
)

// execute carries out the plan's moves in order. In dry-run it only reports them.
func (r *Reconciler) execute(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cacheView, st *policyState, res *planner.Result, now time.Time) []MoveOutcome {
	logger := log.FromContext(ctx)
	// What the plan saw, for judging each eviction later by its own prediction.
	classes := make(map[string]scoring.Class, len(res.Nodes))
	scoreBefore := make(map[string]float64, len(res.Nodes))
	for _, n := range res.Nodes {
		classes[n.Name], scoreBefore[n.Name] = n.State.Class, n.Score
	}
	var out []MoveOutcome
	for _, m := range res.Moves {
		pod := cl.pod(m.Pod)
		if pod == nil {
			out = append(out, MoveOutcome{Move: m, Outcome: Gone, Detail: "pod no longer in the cache"})
			continue
		}
		if res.DryRun {
			r.DryRun.Execute(ctx, pod.Object(), m)
			r.Recorder.Eventf(pod.Object(), p, corev1.EventTypeNormal, "WouldEvict", "Evict",
				"Dry-run: would evict from %s; replacement predicted on %s; sigma %.4f -> %.4f", m.From, m.To, m.SigmaBefore, m.SigmaAfter)
			logger.Info("Would evict (dry-run)", m.LogValues()...)
			out = append(out, MoveOutcome{Move: m, Outcome: WouldEvict, Detail: "dry-run"})
			continue
		}
		mo := r.evict(ctx, p, st, pod, m, now)
		if mo.Outcome == Evicted {
			st.followed = append(st.followed, followed{Move: m, At: now, SourceBefore: scoreBefore[m.From], Classes: classes})
		}
		out = append(out, mo)
	}
	return append(out, r.reportDeferred(ctx, p, cl, res)...)
}

// reportDeferred reports the moves held back because no disruption window is open as a dry run
// does: counted in rebalancer_dry_run_evictions_total, a WouldEvict event, a log line.
func (r *Reconciler) reportDeferred(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cacheView, res *planner.Result) []MoveOutcome {
	if len(res.Deferred) == 0 {
		return nil
	}
	next := windows.State{}.Next()
	if res.Window != nil {
		next = res.Window.Next()
	}
	out := make([]MoveOutcome, 0, len(res.Deferred))
	for _, m := range res.Deferred {
		pod := cl.pod(m.Pod)
		if pod == nil {
			out = append(out, MoveOutcome{Move: m, Outcome: Gone, Detail: "pod no longer in the cache"})
			continue
		}
		r.DryRun.Execute(ctx, pod.Object(), m)
		r.Recorder.Eventf(pod.Object(), p, corev1.EventTypeNormal, "WouldEvict", "Evict",
			"Outside the disruption windows (%s): would evict from %s; replacement predicted on %s; sigma %.4f -> %.4f", next, m.From, m.To, m.SigmaBefore, m.SigmaAfter)
		log.FromContext(ctx).Info("Would evict (outside the disruption windows)", append(m.LogValues(), "next", next)...)
		out = append(out, MoveOutcome{Move: m, Outcome: WouldEvict, Detail: "outside the disruption windows; " + next})
	}
	return out
}

// evict checks the pod again on fresh state, records the disruption in the ledgers
// (write-ahead), calls the eviction API, and releases the ledger entries if the call fails.
func (r *Reconciler) evict(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, cached *planner.Pod, m planner.Move, now time.Time) MoveOutcome {
	logger := log.FromContext(ctx).WithValues(m.LogValues()...)
	pod, fresh, reasons, err := r.recheck(ctx, p, st, cached, now)
	switch {
	case apierrors.IsNotFound(err):
		return MoveOutcome{Move: m, Outcome: Gone, Detail: "pod gone before eviction"}
	case err != nil:
		logger.Error(err, "Checking the pod before eviction failed; not evicting")
		return MoveOutcome{Move: m, Outcome: Failed, Detail: err.Error()}
	case len(reasons) > 0:
		msg := joinReasons(reasons)
		r.Recorder.Eventf(pod, p, corev1.EventTypeNormal, "EvictionSkipped", "Evict", "Not evicted after a fresh check: %s", msg)
		logger.Info("Not evicted after a fresh check", "reasons", msg)
		return MoveOutcome{Move: m, Outcome: Skipped, Detail: msg}
	}

	entry := disruptionOf(p, m, now)
	if err := r.recordDisruption(ctx, p, fresh, m.SLOs, entry, true, now); err != nil {
		logger.Error(err, "Recording the disruption failed; not evicting")
		return MoveOutcome{Move: m, Outcome: Failed, Detail: err.Error()}
	}
	result := r.Live.Execute(ctx, pod, m)
	if result.Outcome != Evicted {
		if err := r.recordDisruption(ctx, p, nil, m.SLOs, entry, false, now); err != nil {
			logger.Error(err, "Releasing the disruption from the ledgers failed; the budget stays spent until the entry expires")
		}
	}
	wk := m.Workload
	switch result.Outcome {
	case Evicted:
		r.Metrics.Evictions.WithLabelValues(pod.Namespace, string(m.Reason.Code)).Inc()
		r.Recorder.Eventf(pod, p, corev1.EventTypeNormal, "Evicted", "Evict",
			"Evicted from hot node %s to lower sigma %.4f -> %.4f; replacement predicted on %s", m.From, m.SigmaBefore, m.SigmaAfter, m.To)
		logger.Info("Evicted")
	case Gone:
		logger.Info("Pod gone or replaced before eviction", "code", result.Code)
	case Refused:
		wait := max(result.RetryAfter, v1alpha1.Duration(p.Spec.Interval, v1alpha1.DefaultInterval))
		st.plan.Backoff = withBackoff(st.plan.Backoff, wk, now.Add(wait), "a PodDisruptionBudget refused the last eviction (429)")
		r.Recorder.Eventf(pod, p, corev1.EventTypeWarning, "EvictionRefused", "Evict", "A PodDisruptionBudget refused the eviction; retrying after %s", wait)
		logger.Info("Eviction refused by a PodDisruptionBudget", "retryAfter", wait)
	case Skipped:
		st.plan.Backoff = withBackoff(st.plan.Backoff, wk, now.Add(v1alpha1.Duration(p.Spec.PodBackoff, v1alpha1.DefaultPodBackoff)), "more than one PodDisruptionBudget covers its pods")
		r.Recorder.Eventf(pod, p, corev1.EventTypeWarning, "MultiplePDBs", "Evict", "Skipped: %v", result.Err)
		logger.Info("Eviction skipped: more than one PodDisruptionBudget covers the pod")
	default:
		st.plan.Backoff = withBackoff(st.plan.Backoff, wk, now.Add(v1alpha1.Duration(p.Spec.PodBackoff, v1alpha1.DefaultPodBackoff)), fmt.Sprintf("the last eviction failed: %v", result.Err))
		r.Recorder.Eventf(pod, p, corev1.EventTypeWarning, "EvictionFailed", "Evict", "Eviction failed (%d): %v", result.Code, result.Err)
		logger.Error(result.Err, "Eviction failed", "code", result.Code)
	}
	return MoveOutcome{Move: m, Outcome: result.Outcome, Detail: result.String()}
}

func withBackoff(m map[planner.WorkloadKey]planner.Backoff, wk planner.WorkloadKey, until time.Time, why string) map[planner.WorkloadKey]planner.Backoff {
	if m == nil {
		m = map[planner.WorkloadKey]planner.Backoff{}
	}
	if b, ok := m[wk]; !ok || b.Until.Before(until) {
		m[wk] = planner.Backoff{Until: until, Reason: why}
	}
	return m
}

func joinReasons(rs []planner.Reason) string {
	msgs := make([]string, len(rs))
	for i, r := range rs {
		msgs[i] = r.Message
	}
	return strings.Join(msgs, "; ")
}

// recheck reads the pod, its namespace's pods, budgets and SLOs and the policy from the API
// server (not the cache) and runs every eligibility rule again. It returns the policy as read, so
// that the ledger write that follows needs no read of its own.
func (r *Reconciler) recheck(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, cached *planner.Pod, now time.Time) (*corev1.Pod, *v1alpha1.RebalancePolicy, []planner.Reason, error) {
	var (
		pod    corev1.Pod
		policy v1alpha1.RebalancePolicy
		pods   corev1.PodList
		pdbs   policyv1.PodDisruptionBudgetList
		slos   v1alpha1.WorkloadSLOList
		ns     corev1.Namespace
	)
	// The reads are independent: made at once, a recheck costs one round trip to the API server
	// instead of six (docs/scale.md: on a busy API server an eviction took about a second).
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.APIReader.Get(gctx, cached.Key(), &pod) })
	g.Go(func() error {
		return wrap("reading the policy", r.APIReader.Get(gctx, client.ObjectKeyFromObject(p), &policy))
	})
	g.Go(func() error {
		return wrap("listing pods", r.APIReader.List(gctx, &pods, client.InNamespace(cached.Namespace)))
	})
	g.Go(func() error {
		return wrap("listing PodDisruptionBudgets", r.APIReader.List(gctx, &pdbs, client.InNamespace(cached.Namespace)))
	})
	g.Go(func() error {
		return wrap("listing WorkloadSLOs", r.APIReader.List(gctx, &slos, client.InNamespace(cached.Namespace)))
	})
	g.Go(func() error {
		return wrap("reading the namespace", r.APIReader.Get(gctx, types.NamespacedName{Name: cached.Namespace}, &ns))
	})
	if err := g.Wait(); err != nil {
		return nil, nil, nil, err
	}
	if pod.UID != cached.UID {
		return nil, nil, nil, apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
	}
	snap := planner.Snapshot{Namespaces: []*corev1.Namespace{&ns}, Pods: planner.NewPods(pointers(pods.Items)), PDBs: pointers(pdbs.Items),
		SchedulersDown: r.schedulersDown(ctx, now)}
	sloPtrs := pointers(slos.Items)
	cfg, err := planner.Resolve(&policy, r.priorityClasses(ctx))
	if err != nil {
		return &pod, &policy, []planner.Reason{{Code: planner.ReasonConfigInvalid, Message: err.Error()}}, nil
	}
	// The window is read at the time of the call, not the cycle's: one that closed since the
	// plan (or was added to the policy) holds the pod back.
	if w := cfg.Windows.At(r.Clock.Now()); !w.Open {
		return &pod, &policy, []planner.Reason{{Code: planner.ReasonOutsideWindow, Message: "the policy's disruption window closed before the eviction"}}, nil
	}
	return &pod, &policy, planner.NewEligibility(&snap, cfg, &policy, sloPtrs, st.plan, now).Check(planner.NewPod(&pod)), nil
}

// wrap says what failed, or is nil.
func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// recordDisruption adds (add=true) or removes the entry in the policy's ledger and in the ledger
// of each WorkloadSLO the move spends, pruning entries older than the longest window they serve.
// current, when not nil, is the policy as just read from the API server: the first attempt
// updates that version (a conflict reads it again), so a write right after a recheck costs one
// round trip.
func (r *Reconciler) recordDisruption(ctx context.Context, p, current *v1alpha1.RebalancePolicy, slos []string, entry v1alpha1.Disruption, add bool, now time.Time) error {
	read := current.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh := read
		read = nil
		if fresh == nil {
			fresh = &v1alpha1.RebalancePolicy{}
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), fresh); err != nil {
				return err
			}
		}
		fresh.Status.Ledger = editedLedger(fresh.Status.Ledger, entry, add, now, policyRetention(fresh))
		return r.Client.Status().Update(ctx, fresh)
	})
	if err != nil {
		return fmt.Errorf("updating the ledger of RebalancePolicy %s: %w", p.Name, err)
	}
	for _, key := range slos {
		ns, name, _ := strings.Cut(key, "/")
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var fresh v1alpha1.WorkloadSLO
			if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &fresh); err != nil {
				return err
			}
			fresh.Status.Ledger = editedLedger(fresh.Status.Ledger, entry, add, now, ledger.Window)
			return r.Client.Status().Update(ctx, &fresh)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating the ledger of WorkloadSLO %s: %w", key, err)
		}
	}
	return nil
}

// disruptionOf is the ledger entry the evictor writes for the move at now (planner.Move.Disruption
// with the policy's interval).
func disruptionOf(p *v1alpha1.RebalancePolicy, m planner.Move, now time.Time) v1alpha1.Disruption {
	return m.Disruption(now, v1alpha1.Duration(p.Spec.Interval, v1alpha1.DefaultInterval))
}

// editedLedger is the ledger with the entry added (add) or removed, trimmed to its retention: a
// policy's ledger keeps policyRetention, a WorkloadSLO's the hour its budget counts over.
func editedLedger(l []v1alpha1.Disruption, entry v1alpha1.Disruption, add bool, now time.Time, retention time.Duration) []v1alpha1.Disruption {
	if add {
		return ledger.Append(l, entry, now, retention)
	}
	return ledger.Remove(l, entry, now, retention)
}

// policyRetention is how long the policy's ledger keeps entries (ledger.Retention).
func policyRetention(p *v1alpha1.RebalancePolicy) time.Duration {
	return ledger.Retention(v1alpha1.Duration(p.Spec.PodBackoff, v1alpha1.DefaultPodBackoff))
}

// maxHeldBackEvents bounds the pod events one cycle records for candidates held back by a
// budget or by several PodDisruptionBudgets. At 30,000 pods an exhausted hourly limit holds back
// thousands of candidates every cycle; an event for each, every cycle, was nearly all of the
// evictor's API requests (docs/scale.md). A pod is told once, when it starts being held back for
// that reason, and the cycle's remainder is counted in one event on the policy.
const maxHeldBackEvents = 10

// reportHeldBack records an event on each pod newly held back by a budget (BudgetExhausted) or by
// several PDBs (MultiplePDBs), at most maxHeldBackEvents a cycle, and one event on the policy for
// those left untold. A pod held back for the same reason in consecutive cycles is told once.
func (r *Reconciler) reportHeldBack(p *v1alpha1.RebalancePolicy, cl *cacheView, st *policyState, res *planner.Result) {
	told := map[heldBackKey]bool{}
	emitted, untold := 0, 0
	for _, h := range res.HeldBack {
		if h.Has(planner.ReasonNotOptedIn) {
			continue
		}
		budget := h.Has(planner.ReasonSLOBudget) || h.Has(planner.ReasonNamespaceBudget) || h.Has(planner.ReasonHourlyLimit)
		multi := h.Has(planner.ReasonMultiplePDBs)
		if !budget && !multi {
			continue
		}
		found := cl.pod(h.Pod)
		if found == nil {
			continue
		}
		for _, k := range []struct {
			on                   bool
			reason, kind, prefix string
		}{{budget, "BudgetExhausted", corev1.EventTypeNormal, "Held back"}, {multi, "MultiplePDBs", corev1.EventTypeWarning, "Skipped"}} {
			if !k.on {
				continue
			}
			key := heldBackKey{pod: found.UID, reason: k.reason}
			switch {
			case st.heldBackTold[key]:
				told[key] = true
			case emitted < maxHeldBackEvents:
				r.Recorder.Eventf(found.Object(), p, k.kind, k.reason, "Evict", "%s: %s", k.prefix, reasonText(h))
				told[key] = true
				emitted++
			default:
				untold++
			}
		}
	}
	st.heldBackTold = told
	if untold > 0 {
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, "BudgetExhausted", "Evict",
			"%d more candidates newly held back by a budget or by several PodDisruptionBudgets (status.lastPlan.heldBackReasons counts every reason)", untold)
	}
}

// heldBackKey is a pod and the reason it was told it is held back.
type heldBackKey struct {
	pod    types.UID
	reason string
}
