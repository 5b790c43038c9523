package planner_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// TestPlanProperties plans 10,000 random clusters (seeded: a failure names its seed) and checks
// the safety invariants on every plan.
func TestPlanProperties(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	moved, clearing := 0, 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		w := plannertest.Random(seed)
		res := planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
		if err := checkInvariants(w, res); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		moved += len(res.Moves)
		if res.ClearsHotNodes && res.HotNodes > 0 {
			clearing++
		}
	}
	// The generator must exercise the planner, or the invariants prove nothing. (Clearing every
	// hot node means bringing every weighted resource of each under hot - margin: rarer.)
	if moved < n/8 || clearing < n/200 {
		t.Fatalf("only %d moves and %d clearing plans over %d clusters: the generator is too tame", moved, clearing, n)
	}
	t.Logf("%d clusters, %d moves, %d plans clearing every hot node", n, moved, clearing)
}

// FuzzPlan checks the same invariants on clusters generated from fuzzed seeds.
func FuzzPlan(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1000} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		w := plannertest.Random(seed)
		res := planner.Plan(w.Snapshot, w.Policy, w.SLOs, w.State, plannertest.Now)
		if err := checkInvariants(w, res); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	})
}

// checkInvariants recomputes every limit from the inputs, independently of the planner.
func checkInvariants(w plannertest.World, res planner.Result) error {
	now := plannertest.Now
	if len(res.Blockers) > 0 && len(res.Moves) > 0 {
		return fmt.Errorf("blocked plan has moves: %v", res.Moves)
	}
	if len(res.Moves) == 0 {
		return nil
	}
	cfg, err := planner.Resolve(w.Policy, w.Snapshot.PriorityClasses)
	if err != nil {
		return fmt.Errorf("plan with moves under invalid config: %w", err)
	}
	pods := map[string]*corev1.Pod{}
	for _, p := range w.Pods {
		pods[p.Namespace+"/"+p.Name] = p
	}
	nodes := map[string]*corev1.Node{}
	for _, n := range w.Snapshot.Nodes {
		nodes[n.Name] = n
	}
	elig := planner.NewEligibility(&w.Snapshot, cfg, w.Policy, w.SLOs, w.State, now)

	// 1. No protected pod, no pod that any rule holds back at the start of the plan.
	for _, m := range res.Moves {
		p := pods[m.Pod.String()]
		if p == nil {
			return fmt.Errorf("move of unknown pod %s", m.Pod)
		}
		if rs := elig.Check(planner.NewPod(p)); len(rs) > 0 {
			return fmt.Errorf("moved %s although: %v", m.Pod, rs)
		}
		if p.Spec.NodeName != m.From {
			return fmt.Errorf("move of %s from %s, but it runs on %s", m.Pod, m.From, p.Spec.NodeName)
		}
	}

	// 2. Rate limits and budgets.
	if len(res.Moves) > cfg.MaxPerCycle {
		return fmt.Errorf("%d moves, maxEvictionsPerCycle %d", len(res.Moves), cfg.MaxPerCycle)
	}
	hourAgo := now.Add(-time.Hour)
	hourUsed, nsUsed := 0, map[string]int{}
	for _, d := range w.Policy.Status.Ledger {
		if d.Time.After(hourAgo) {
			hourUsed++
			nsUsed[d.Namespace]++
		}
	}
	if hourUsed+len(res.Moves) > cfg.MaxPerHour {
		return fmt.Errorf("%d moves with %d in the last hour, maxEvictionsPerHour %d", len(res.Moves), hourUsed, cfg.MaxPerHour)
	}
	perNode, perNS, perWorkload := map[string]int{}, map[string]int{}, map[string]int{}
	for _, m := range res.Moves {
		perNode[m.From]++
		perNS[m.Pod.Namespace]++
		perWorkload[m.Pod.Namespace+"/"+m.Workload.String()]++
	}
	for n, c := range perNode {
		if c > cfg.MaxPerNodeCycle {
			return fmt.Errorf("%d moves from %s, maxEvictionsPerNodePerCycle %d", c, n, cfg.MaxPerNodeCycle)
		}
	}
	for ns, max := range cfg.NamespaceBudgets {
		if perNS[ns] > 0 && nsUsed[ns]+perNS[ns] > max {
			return fmt.Errorf("namespace %s: %d used + %d moves > budget %d", ns, nsUsed[ns], perNS[ns], max)
		}
	}
	for wl, c := range perWorkload {
		if cfg.PodBackoff > 0 && c > 1 {
			return fmt.Errorf("workload %s evicted %d times in one plan with podBackoff %s", wl, c, cfg.PodBackoff)
		}
	}
	for _, slo := range w.SLOs {
		sel, _ := metav1.LabelSelectorAsSelector(slo.Spec.Selector)
		used, usedStateful := 0, 0
		for _, d := range slo.Status.Ledger {
			if d.Time.After(hourAgo) {
				used++
				if d.Stateful {
					usedStateful++
				}
			}
		}
		moves, stateful := 0, 0
		for _, m := range res.Moves {
			p := pods[m.Pod.String()]
			if p.Namespace == slo.Namespace && sel.Matches(labels.Set(p.Labels)) {
				moves++
				if m.Stateful {
					stateful++
				}
			}
		}
		if moves > 0 && used+moves > int(*slo.Spec.MaxDisruptionsPerHour) {
			return fmt.Errorf("WorkloadSLO %s: %d used + %d moves > %d", slo.Name, used, moves, *slo.Spec.MaxDisruptionsPerHour)
		}
		maxStateful := int(*slo.Spec.MaxDisruptionsPerHour)
		if slo.Spec.MaxStatefulDisruptionsPerHour != nil {
			maxStateful = int(*slo.Spec.MaxStatefulDisruptionsPerHour)
		}
		if stateful > 0 && usedStateful+stateful > maxStateful {
			return fmt.Errorf("WorkloadSLO %s: stateful %d used + %d moves > %d", slo.Name, usedStateful, stateful, maxStateful)
		}
		if moves > 0 {
			matched, ready := 0, 0
			for _, p := range w.Pods {
				if p.Namespace == slo.Namespace && sel.Matches(labels.Set(p.Labels)) && p.DeletionTimestamp == nil &&
					(p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending) {
					matched++
					if p.Status.Conditions[0].Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			min := 1
			if slo.Spec.MinAvailable != nil {
				min, _ = intstr.GetScaledValueFromIntOrPercent(slo.Spec.MinAvailable, matched, true)
			}
			if ready-moves < min {
				return fmt.Errorf("WorkloadSLO %s: %d ready - %d moves < minAvailable %d", slo.Name, ready, moves, min)
			}
		}
	}
	for _, pdb := range w.Snapshot.PDBs {
		sel, _ := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		c := 0
		for _, m := range res.Moves {
			p := pods[m.Pod.String()]
			if p.Namespace == pdb.Namespace && sel.Matches(labels.Set(p.Labels)) {
				c++
			}
		}
		if c > int(pdb.Status.DisruptionsAllowed) {
			return fmt.Errorf("PDB %s allows %d, plan moves %d", pdb.Name, pdb.Status.DisruptionsAllowed, c)
		}
	}

	// 3. Every destination is feasible, given what the plan already sent there, and is neither
	// the source nor hot.
	load := map[string]scoring.NodeLoad{}
	for _, p := range w.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		l := load[p.Spec.NodeName]
		l.Requested = l.Requested.Add(scoring.PodRequests(p))
		l.Pods++
		load[p.Spec.NodeName] = l
	}
	for _, m := range res.Moves {
		p := pods[m.Pod.String()]
		dest := nodes[m.To]
		if dest == nil || m.To == m.From {
			return fmt.Errorf("move %v: bad destination", m)
		}
		if res.State.Nodes[m.To].Class == scoring.Hot {
			return fmt.Errorf("move %v lands on a hot node", m)
		}
		if cfg.ColdDestinations && res.State.Nodes[m.To].Class != scoring.Cold {
			return fmt.Errorf("move %v lands on a node that is not cold, with destinations Cold", m)
		}
		req := scoring.PodRequests(p)
		if why := scoring.NewConstraints(p).Feasible(dest, load[m.To], req); why != "" {
			return fmt.Errorf("move %v to an infeasible node: %s", m, why)
		}
		l := load[m.To]
		l.Requested = l.Requested.Add(req)
		l.Pods++
		load[m.To] = l
		if m.SigmaAfter > m.SigmaBefore+1e-12 {
			return fmt.Errorf("move %v raises sigma", m)
		}
	}

	// 4. A plan that claims to clear every hot node makes at least LB evictions.
	if res.ClearsHotNodes && len(res.Moves) < res.LowerBound {
		return fmt.Errorf("%d moves clear every hot node, below the lower bound %d", len(res.Moves), res.LowerBound)
	}
	for _, m := range res.Moves {
		if !strings.Contains(m.String(), m.Pod.String()) {
			return fmt.Errorf("move does not explain itself: %q", m.String())
		}
	}
	return nil
}
