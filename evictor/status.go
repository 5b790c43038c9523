package evictor

import (
	"context"
	"fmt"
	"sort"
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/windows"
)

// maxExcludedListed bounds status.excludedNodes (the CRD's MaxItems).
const maxExcludedListed = 50

// excludedNodes is the bounded list of the nodes left out of the plan, and their count.
func excludedNodes(xs []planner.ExcludedNode) ([]v1alpha1.ExcludedNode, int32) {
	var out []v1alpha1.ExcludedNode
	for _, x := range xs {
		if len(out) == maxExcludedListed {
			break
		}
		msg := x.Reason
		if len(msg) > 256 {
			msg = msg[:256]
		}
		out = append(out, v1alpha1.ExcludedNode{Name: x.Name, Reason: x.Code, Message: msg})
	}
	return out, int32(len(xs))
}

// trimPolicyLedger drops the entries of the policy's ledger past their retention and counts the
// evictions of the last hour, as the status shows them.
func trimPolicyLedger(p *v1alpha1.RebalancePolicy, now time.Time) {
	p.Status.Ledger = ledger.Trim(p.Status.Ledger, now, policyRetention(p))
	p.Status.EvictionsLastHour = int32(ledger.Used(p.Status.Ledger, now).Total)
}

// trimSLOLedger drops the entries of the WorkloadSLO's ledger older than an hour and sets the
// disruptions it has left; it returns the disruptions used and the limit.
func trimSLOLedger(s *v1alpha1.WorkloadSLO, now time.Time) (used, limit int32) {
	s.Status.Ledger = ledger.Trim(s.Status.Ledger, now, ledger.Window)
	s.Status.DisruptionsRemaining = ptr.To(int32(ledger.SLORemaining(s, now)))
	return int32(ledger.Used(s.Status.Ledger, now).Total), int32(ledger.SLOLimit(s))
}

func (r *Reconciler) priorityClasses(ctx context.Context) []*schedulingv1.PriorityClass {
	var l schedulingv1.PriorityClassList
	if err := r.Client.List(ctx, &l); err != nil {
		return nil
	}
	return pointers(l.Items)
}

// writePolicyStatus records the cycle in the policy's status. res is nil when no plan was made.
// The ledger is read fresh and only pruned, never overwritten from the cache.
func (r *Reconciler) writePolicyStatus(ctx context.Context, p *v1alpha1.RebalancePolicy, res *planner.Result, conds []metav1.Condition, now time.Time) (v1alpha1.RebalancePolicyStatus, error) {
	var written v1alpha1.RebalancePolicyStatus
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var fresh v1alpha1.RebalancePolicy
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), &fresh); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		s := &fresh.Status
		s.ObservedGeneration = fresh.Generation
		s.LastCycleTime = ptr.To(metav1.NewTime(now))
		trimPolicyLedger(&fresh, now)
		setConditions(&s.Conditions, conds, fresh.Generation, now)
		s.DisruptionWindow = windowStatus(&fresh, now)
		if res != nil && len(res.Blockers) == 0 {
			s.Sigma = ptr.To(round4(res.SigmaBefore))
			s.Nodes = int32(len(res.Nodes))
			s.HotNodes, s.ColdNodes = int32(res.HotNodes), int32(res.ColdNodes)
			s.HotNodeNames, s.ColdNodeNames = nil, nil
			for _, n := range res.Nodes {
				switch n.State.Class {
				case scoring.Hot:
					s.HotNodeNames = append(s.HotNodeNames, n.Name)
				case scoring.Cold:
					s.ColdNodeNames = append(s.ColdNodeNames, n.Name)
				}
			}
			s.HotNodeNames, s.ColdNodeNames = capList(s.HotNodeNames, 5000), capList(s.ColdNodeNames, 5000)
			s.LastPlan = Summary(res)
			s.ExcludedNodes, s.ExcludedNodeCount = excludedNodes(res.Excluded)
		} else {
			// Nothing was balanced: no figure of an older cycle stays to look current.
			s.Sigma, s.Nodes, s.HotNodes, s.ColdNodes = nil, 0, 0, 0
			s.HotNodeNames, s.ColdNodeNames = nil, nil
			s.LastPlan, s.ExcludedNodes, s.ExcludedNodeCount = nil, nil, 0
			if res != nil {
				s.LastPlan = Summary(res)
				s.ExcludedNodes, s.ExcludedNodeCount = excludedNodes(res.Excluded)
			}
		}
		written = *s.DeepCopy()
		return r.Client.Status().Update(ctx, &fresh)
	})
	return written, err
}

// windowStatus says whether one of the policy's disruption windows is open at now and when the
// next opens; nil for a policy without windows or with windows that do not parse (ConfigValid
// says why).
func windowStatus(p *v1alpha1.RebalancePolicy, now time.Time) *v1alpha1.DisruptionWindowStatus {
	sched, err := windows.Parse(p.Spec.DisruptionWindows)
	if err != nil || sched.Always() {
		return nil
	}
	w := sched.At(now)
	out := &v1alpha1.DisruptionWindowStatus{Open: w.Open}
	if !w.ClosesAt.IsZero() {
		out.ClosesAt = ptr.To(metav1.NewTime(w.ClosesAt))
	}
	if !w.NextOpensAt.IsZero() {
		out.NextOpensAt = ptr.To(metav1.NewTime(w.NextOpensAt))
	}
	return out
}

func capList(l []string, n int) []string {
	if len(l) > n {
		return l[:n]
	}
	return l
}

func round4(v float64) float64 {
	return float64(int64(v*10000+0.5)) / 10000
}

// Summary is the short account of a plan kept in status (lastPlan).
func Summary(res *planner.Result) *v1alpha1.PlanSummary {
	s := &v1alpha1.PlanSummary{Moves: int32(len(res.Moves)), HeldBack: int32(len(res.HeldBack)), LowerBound: int32(res.LowerBound)}
	stop, stopHeld := res.Stopped()
	if len(stop) > 64 {
		stop = stop[:64]
	}
	s.StoppedBy = stop
	if len(res.Blockers) == 0 {
		s.PredictedSigma = ptr.To(round4(res.SigmaAfter))
	}
	for code, n := range res.HeldBackByReason() {
		s.HeldBackReasons = append(s.HeldBackReasons, v1alpha1.ReasonCount{Reason: string(code), Count: int32(n)})
	}
	sort.Slice(s.HeldBackReasons, func(i, j int) bool {
		a, b := s.HeldBackReasons[i], s.HeldBackReasons[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Reason < b.Reason
	})
	if len(s.HeldBackReasons) > 32 {
		s.HeldBackReasons = s.HeldBackReasons[:32]
	}
	verb := "evict"
	if res.DryRun {
		verb = "would evict (dry-run)"
	}
	switch {
	case len(res.Blockers) > 0:
		s.Message = "evicting nothing: " + res.Blockers[0].Message
	case res.HotNodes == 0:
		s.Message = fmt.Sprintf("no hot node; sigma %.4f", res.SigmaBefore)
	default:
		s.Message = fmt.Sprintf("%d hot node(s); %s %d pod(s), lower bound %d; sigma %.4f -> %.4f predicted; %d candidate(s) held back; stopped by %s",
			res.HotNodes, verb, len(res.Moves), res.LowerBound, res.SigmaBefore, res.SigmaAfter, len(res.HeldBack), stop)
		if stopHeld > 0 {
			s.Message += fmt.Sprintf(" (%d candidate(s))", stopHeld)
		}
	}
	if len(s.Message) > 1024 {
		s.Message = s.Message[:1024]
	}
	return s
}

// writeSLOStatus records each WorkloadSLO's budget: ledger (pruned), what remains, which pods are
// held back and why. It returns the statuses written, for the dashboard.
func (r *Reconciler) writeSLOStatus(ctx context.Context, cl *cacheView, st *policyState, res *planner.Result, now time.Time) ([]v1alpha1.WorkloadSLO, error) {
	var out []v1alpha1.WorkloadSLO
	seen := map[string]bool{}
	for _, slo := range cl.slos {
		sel, err := metav1.LabelSelectorAsSelector(slo.Spec.Selector)
		if err != nil {
			continue
		}
		matching := int32(0)
		for _, p := range cl.snap.Pods {
			if p.Namespace == slo.Namespace && !p.Deleting && sel.Matches(labels.Set(p.Labels)) {
				matching++
			}
		}
		var pending []v1alpha1.PendingDisruption
		for _, h := range res.HeldBack {
			if h.Pod.Namespace != slo.Namespace {
				continue
			}
			pod := cl.pod(h.Pod)
			if pod == nil || !sel.Matches(labels.Set(pod.Labels)) || h.Has(planner.ReasonNotOptedIn) {
				continue
			}
			key := h.Pod.String() + "\x00" + reasonText(h)
			seen[key] = true
			since, ok := st.pendingSince[key]
			if !ok {
				since = now
				st.pendingSince[key] = now
			}
			if len(pending) < 100 {
				pending = append(pending, v1alpha1.PendingDisruption{Pod: h.Pod.Name, Node: h.Node, Reason: reasonText(h), Since: ptr.To(metav1.NewTime(since))})
			}
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var fresh v1alpha1.WorkloadSLO
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(slo), &fresh); err != nil {
				return err
			}
			before := fresh.Status.DeepCopy()
			s := &fresh.Status
			s.ObservedGeneration = fresh.Generation
			used, limit := trimSLOLedger(&fresh, now)
			s.MatchingPods = matching
			s.Pending = pending
			c := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonBudgetAvailable,
				Message: fmt.Sprintf("%d of %d disruptions left this hour", max(limit-used, 0), limit), ObservedGeneration: fresh.Generation, LastTransitionTime: metav1.NewTime(now)}
			if used >= limit {
				c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonBudgetExhausted
				c.Message = fmt.Sprintf("budget exhausted: %d of %d disruptions used in the last hour", used, limit)
			}
			meta.SetStatusCondition(&s.Conditions, c)
			out = append(out, fresh)
			if equality.Semantic.DeepEqual(before, s) {
				return nil
			}
			return r.Client.Status().Update(ctx, &fresh)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return out, fmt.Errorf("updating status of WorkloadSLO %s/%s: %w", slo.Namespace, slo.Name, err)
		}
	}
	for k := range st.pendingSince {
		if !seen[k] {
			delete(st.pendingSince, k)
		}
	}
	return out, nil
}

func reasonText(h planner.HeldBack) string {
	return joinReasons(h.Reasons)
}

// writeNodeClassStatus records each NodeClass's members and their mean utilisation score (from
// the latest reading of any policy).
func (r *Reconciler) writeNodeClassStatus(ctx context.Context, cl *cacheView, res *planner.Result) error {
	for _, n := range res.Nodes {
		r.scores.set(n.Name, n.Score)
	}
	members := map[string][]string{}
	for _, n := range cl.snap.Nodes {
		if c := planner.ClassOf(n, cl.snap.NodeClasses); c != "" {
			members[c] = append(members[c], n.Name)
		}
	}
	for _, nc := range cl.snap.NodeClasses {
		names := members[nc.Name]
		sort.Strings(names)
		var sum float64
		known := 0
		for _, n := range names {
			if v, ok := r.scores.get(n); ok {
				sum += v
				known++
			}
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var fresh v1alpha1.NodeClass
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(nc), &fresh); err != nil {
				return err
			}
			before := fresh.Status.DeepCopy()
			s := &fresh.Status
			s.ObservedGeneration = fresh.Generation
			s.NodeCount = int32(len(names))
			s.Nodes = capList(names, 256)
			s.MeanUtilization = nil
			if known > 0 {
				s.MeanUtilization = ptr.To(round4(sum / float64(known)))
			}
			c := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonNodesMatched,
				Message: fmt.Sprintf("%d node(s) belong to the class", len(names)), ObservedGeneration: fresh.Generation}
			if len(names) == 0 {
				c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1alpha1.ReasonNoMatchingNodes, "no node matches the nodeSelector (or a heavier class takes them)"
			}
			meta.SetStatusCondition(&s.Conditions, c)
			if equality.Semantic.DeepEqual(before, s) {
				return nil
			}
			return r.Client.Status().Update(ctx, &fresh)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating status of NodeClass %s: %w", nc.Name, err)
		}
	}
	return nil
}
