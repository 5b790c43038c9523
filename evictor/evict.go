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

// execute carries out the plan's moves. In dry-run it only reports them. Live, the moves of a
// cycle go together (evictAll): one fresh check, one write-ahead ledger write, the eviction calls
// (callEvictions), one release of what failed.
func (r *Reconciler) execute(ctx context.Context, p *v1alpha1.RebalancePolicy, cl *cacheView, st *policyState, res *planner.Result, now time.Time) []MoveOutcome {
	logger := log.FromContext(ctx)
	// What the plan saw, for judging each eviction later by its own prediction.
	classes := make(map[string]scoring.Class, len(res.Nodes))
	scoreBefore := make(map[string]float64, len(res.Nodes))
	for _, n := range res.Nodes {
		classes[n.Name], scoreBefore[n.Name] = n.State.Class, n.Score
	}
	out := make([]MoveOutcome, 0, len(res.Moves))
	var live []pending
	for _, m := range res.Moves {
		pod := cl.pod(m.Pod)
		switch {
		case pod == nil:
			out = append(out, MoveOutcome{Move: m, Outcome: Gone, Detail: "pod no longer in the cache"})
		case res.DryRun:
			r.DryRun.Execute(ctx, pod.Object(), m)
			r.Recorder.Eventf(pod.Object(), p, corev1.EventTypeNormal, "WouldEvict", "Evict",
				"Dry-run: would evict from %s; replacement predicted on %s; sigma %.4f -> %.4f", m.From, m.To, m.SigmaBefore, m.SigmaAfter)
			logger.Info("Would evict (dry-run)", m.LogValues()...)
			out = append(out, MoveOutcome{Move: m, Outcome: WouldEvict, Detail: "dry-run"})
		default:
			live = append(live, pending{move: m, cached: pod})
		}
	}
	for _, mo := range r.evictAll(ctx, p, st, live, now) {
		if mo.Outcome == Evicted {
			st.followed = append(st.followed, followed{Move: mo.Move, At: now, SourceBefore: scoreBefore[mo.Move.From], Classes: classes})
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

// pending is a planned move on its way to the eviction API: the pod as cached, then as read fresh,
// its ledger entry and, once decided, its outcome.
type pending struct {
	move   planner.Move
	cached *planner.Pod
	pod    *corev1.Pod
	entry  v1alpha1.Disruption
	done   bool
	out    MoveOutcome
	result Result
}

func (pm *pending) finish(o Outcome, detail string) {
	pm.done, pm.out = true, MoveOutcome{Move: pm.move, Outcome: o, Detail: detail}
}

// evictAll evicts the cycle's moves: it checks every pod again on fresh state (recheck, one
// round of reads for the cycle), records the disruptions of the pods that pass in the ledgers
// (write-ahead, one update of each ledger), calls the eviction API for them (callEvictions), and releases
// the entries of the calls that did not evict (one update again). A move is checked on fresh state
// with the budgets the moves before it spend, as the plan chose them. On a busy API server each
// round trip is what a cycle waits for (docs/scale.md): per move they were five, now they are
// about four for the cycle.
func (r *Reconciler) evictAll(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, moves []pending, now time.Time) []MoveOutcome {
	if len(moves) == 0 {
		return nil
	}
	logger := log.FromContext(ctx)
	fresh, err := r.recheck(ctx, p, st, moves, now)
	if err != nil {
		logger.Error(err, "Checking the pods before eviction failed; not evicting")
	}
	var admitted []*pending
	for i := range moves {
		pm := &moves[i]
		switch {
		case err != nil:
			pm.finish(Failed, err.Error())
		case !pm.done:
			pm.entry = disruptionOf(p, pm.move, now)
			admitted = append(admitted, pm)
		}
	}
	if len(admitted) > 0 {
		if err := r.recordDisruptions(ctx, p, fresh, admitted, true, now); err != nil {
			logger.Error(err, "Recording the disruptions failed; not evicting")
			for _, pm := range admitted {
				pm.finish(Failed, err.Error())
			}
			admitted = nil
		}
	}
	r.callEvictions(ctx, admitted)
	var release []*pending
	for _, pm := range admitted {
		if pm.result.Outcome != Evicted {
			release = append(release, pm)
		}
	}
	if len(release) > 0 {
		if err := r.recordDisruptions(ctx, p, nil, release, false, now); err != nil {
			logger.Error(err, "Releasing the disruptions from the ledgers failed; the budget stays spent until the entries expire")
		}
	}
	out := make([]MoveOutcome, len(moves))
	for i := range moves {
		pm := &moves[i]
		if !pm.done {
			r.evicted(ctx, p, st, pm, now)
		}
		out[i] = pm.out
	}
	return out
}

// callEvictions calls the eviction API for the admitted moves, in the plan's order.
//
// The plan predicted each move's replacement with the earlier moves' replacements already placed,
// and kube-scheduler places replacements in the order their controllers create them. When every
// move is steered, its scheduler puts the replacement on the node the plan chose whatever the
// order, so the calls go at once. Otherwise they go one at a time, each after the previous
// eviction's replacement is bound (awaitReplacement), so the scheduler places each replacement on
// the cluster its prediction assumed. Called all at once, a cycle's replacements were seen
// scheduled in another order than planned, two workloads trading their predicted nodes (test/e2e's
// prediction round).
func (r *Reconciler) callEvictions(ctx context.Context, admitted []*pending) {
	if !scoredByScheduler(admitted) {
		var g errgroup.Group
		g.SetLimit(maxConcurrentEvictions)
		for _, pm := range admitted {
			g.Go(func() error {
				pm.result = r.Live.Execute(ctx, pm.pod, pm.move)
				return nil
			})
		}
		_ = g.Wait()
		return
	}
	claimed := map[types.UID]bool{}
	for i, pm := range admitted {
		at := r.Clock.Now()
		pm.result = r.Live.Execute(ctx, pm.pod, pm.move)
		if pm.result.Outcome == Evicted && i < len(admitted)-1 {
			r.awaitReplacement(ctx, pm.move, at, claimed)
		}
	}
}

// scoredByScheduler: among several moves, at least one lands where its scheduler's scores send it
// (not steered), so where it lands depends on the order the replacements are scheduled in.
func scoredByScheduler(moves []*pending) bool {
	if len(moves) < 2 {
		return false
	}
	for _, pm := range moves {
		if !pm.move.Steered {
			return true
		}
	}
	return false
}

// maxConcurrentEvictions bounds the eviction calls in flight.
const maxConcurrentEvictions = 5

const (
	// DefaultReplacementWait is Reconciler.ReplacementWait's default. A StatefulSet's replacement
	// is only created once the old pod is gone, so it may take the whole wait.
	DefaultReplacementWait = 10 * time.Second
	// replacementPoll is how often awaitReplacement looks for the replacement in the pod cache.
	replacementPoll = 200 * time.Millisecond
)

// awaitReplacement waits until the replacement of m's pod, evicted at evictedAt, is bound to a
// node (mayReplace; the follow-up pairs them by the same rule), and claims it for the cycle. It
// waits at most ReplacementWait, and not at all when that is negative or there is no pod cache.
// It reports whether the replacement was seen bound.
func (r *Reconciler) awaitReplacement(ctx context.Context, m planner.Move, evictedAt time.Time, claimed map[types.UID]bool) bool {
	wait := r.ReplacementWait
	if wait == 0 {
		wait = DefaultReplacementWait
	}
	if wait < 0 || r.Pods == nil {
		return false
	}
	deadline := r.Clock.Now().Add(wait)
	for {
		pods, err := r.Pods.OfWorkload(m.Workload)
		if err != nil {
			log.FromContext(ctx).Error(err, "Looking for the replacement; evicting the next move", "pod", m.Pod.String())
			return false
		}
		for _, p := range pods {
			if mayReplace(p, m, evictedAt, claimed) {
				claimed[p.UID] = true
				return true
			}
		}
		if !r.Clock.Now().Before(deadline) {
			log.FromContext(ctx).V(1).Info("Replacement not bound in time; evicting the next move", "pod", m.Pod.String(), "workload", m.Workload.String(), "waited", wait)
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-r.Clock.After(replacementPoll):
		}
	}
}

// evicted reports the eviction API's answer for one move (events, metrics, a log line) and backs
// the workload off when the answer asks for it.
func (r *Reconciler) evicted(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, pm *pending, now time.Time) {
	m, pod, result := pm.move, pm.pod, pm.result
	logger := log.FromContext(ctx).WithValues(m.LogValues()...)
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
	pm.out = MoveOutcome{Move: m, Outcome: result.Outcome, Detail: result.String()}
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

// recheck reads, for the cycle's moves, the policy and, in each namespace they touch, the pods,
// budgets, SLOs and the namespace from the API server (not the cache), all at once, and runs every
// eligibility rule again on each move in the plan's order, each admitted move spending the budgets
// before the next is checked. A move that does not pass is finished (Gone, Skipped); the others
// get their fresh pod. It returns the policy as read, so that the ledger write that follows needs
// no read of its own.
func (r *Reconciler) recheck(ctx context.Context, p *v1alpha1.RebalancePolicy, st *policyState, moves []pending, now time.Time) (*v1alpha1.RebalancePolicy, error) {
	type nsState struct {
		pods corev1.PodList
		pdbs policyv1.PodDisruptionBudgetList
		slos v1alpha1.WorkloadSLOList
		ns   corev1.Namespace
	}
	var policy v1alpha1.RebalancePolicy
	byNS := map[string]*nsState{}
	var order []string
	for _, pm := range moves {
		if byNS[pm.cached.Namespace] == nil {
			byNS[pm.cached.Namespace] = &nsState{}
			order = append(order, pm.cached.Namespace)
		}
	}
	// The reads are independent: made at once, the check costs one round trip to the API server
	// (docs/scale.md: on a busy API server an eviction took about a second while they were not).
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return wrap("reading the policy", r.APIReader.Get(gctx, client.ObjectKeyFromObject(p), &policy))
	})
	for _, name := range order {
		s := byNS[name]
		g.Go(func() error {
			return wrap("listing pods", r.APIReader.List(gctx, &s.pods, client.InNamespace(name)))
		})
		g.Go(func() error {
			return wrap("listing PodDisruptionBudgets", r.APIReader.List(gctx, &s.pdbs, client.InNamespace(name)))
		})
		g.Go(func() error {
			return wrap("listing WorkloadSLOs", r.APIReader.List(gctx, &s.slos, client.InNamespace(name)))
		})
		g.Go(func() error {
			return wrap("reading the namespace", r.APIReader.Get(gctx, types.NamespacedName{Name: name}, &s.ns))
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	snap := planner.Snapshot{SchedulersDown: r.schedulersDown(ctx, now)}
	var slos []*v1alpha1.WorkloadSLO
	fresh := map[types.NamespacedName]*corev1.Pod{}
	for _, name := range order {
		s := byNS[name]
		snap.Namespaces = append(snap.Namespaces, &s.ns)
		items := pointers(s.pods.Items)
		snap.Pods = append(snap.Pods, planner.NewPods(items)...)
		snap.PDBs = append(snap.PDBs, pointers(s.pdbs.Items)...)
		slos = append(slos, pointers(s.slos.Items)...)
		for _, pod := range items {
			fresh[client.ObjectKeyFromObject(pod)] = pod
		}
	}
	var blocked []planner.Reason
	cfg, err := planner.Resolve(&policy, r.priorityClasses(ctx))
	switch {
	case err != nil:
		blocked = []planner.Reason{{Code: planner.ReasonConfigInvalid, Message: err.Error()}}
	case !cfg.Windows.At(r.Clock.Now()).Open:
		// The window is read at the time of the calls, not the cycle's: one that closed since
		// the plan (or was added to the policy) holds the pods back.
		blocked = []planner.Reason{{Code: planner.ReasonOutsideWindow, Message: "the policy's disruption window closed before the eviction"}}
	}
	var elig *planner.Eligibility
	if blocked == nil {
		elig = planner.NewEligibility(&snap, cfg, &policy, slos, st.plan, now)
	}
	for i := range moves {
		pm := &moves[i]
		pod := fresh[pm.cached.Key()]
		if pod == nil || pod.UID != pm.cached.UID {
			pm.finish(Gone, "pod gone before eviction")
			continue
		}
		pm.pod = pod
		reasons := blocked
		if elig != nil {
			reasons = elig.Admit(planner.NewPod(pod))
		}
		if len(reasons) > 0 {
			msg := joinReasons(reasons)
			r.Recorder.Eventf(pod, p, corev1.EventTypeNormal, "EvictionSkipped", "Evict", "Not evicted after a fresh check: %s", msg)
			log.FromContext(ctx).Info("Not evicted after a fresh check", append(pm.move.LogValues(), "reasons", msg)...)
			pm.finish(Skipped, msg)
		}
	}
	return &policy, nil
}

// wrap says what failed, or is nil.
func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// recordDisruptions adds (add=true) or removes the moves' entries in the policy's ledger and in
// the ledger of each WorkloadSLO a move spends, pruning entries older than the longest window they
// serve: one update of each ledger. current, when not nil, is the policy as just read from the
// API server: the first attempt updates that version (a conflict reads it again), so a write right
// after a recheck costs one round trip.
func (r *Reconciler) recordDisruptions(ctx context.Context, p, current *v1alpha1.RebalancePolicy, moves []*pending, add bool, now time.Time) error {
	edit := func(l []v1alpha1.Disruption, entries []v1alpha1.Disruption, retention time.Duration) []v1alpha1.Disruption {
		for _, e := range entries {
			l = editedLedger(l, e, add, now, retention)
		}
		return l
	}
	all := make([]v1alpha1.Disruption, 0, len(moves))
	bySLO := map[string][]v1alpha1.Disruption{}
	var slos []string
	for _, pm := range moves {
		all = append(all, pm.entry)
		for _, key := range pm.move.SLOs {
			if _, seen := bySLO[key]; !seen {
				slos = append(slos, key)
			}
			bySLO[key] = append(bySLO[key], pm.entry)
		}
	}
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
		fresh.Status.Ledger = edit(fresh.Status.Ledger, all, policyRetention(fresh))
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
			fresh.Status.Ledger = edit(fresh.Status.Ledger, bySLO[key], ledger.Window)
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
