package evictor

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/pkg/ledger"
)

// eviction is one eviction the test saw made, for its own count of every budget.
type eviction struct {
	// at is when it was made, stored the time its ledger entry holds (rounded up to the second).
	at, stored time.Time
	ns         string
	stateful   bool
	slos       []string
}

// Random clusters (plannertest.Random) run through the code paths a cycle takes: the status
// writer trims the ledgers, the planner plans, the executor checks each move again on the ledgers
// as stored and writes the entry (write-ahead) with the executor's own functions; between cycles
// the clock steps (by seconds, minutes, past an hour, with fractions of a second), the evictor
// restarts (its memory is lost and the ledgers are read back from their JSON, as from the API
// server, which keeps times to the second), and the leader changes (the other replica's older
// memory takes over). After every cycle it checks against its own record of the evictions:
//   - in every 60-minute window ending at an eviction it made, neither the policy's hourly limit,
//     nor a namespace budget, nor a WorkloadSLO's budget (nor its stateful allowance) was exceeded;
//   - the status (evictionsLastHour, an SLO's disruptionsRemaining) and the planner's namespace
//     budgets, which the dashboard and the metrics publish, say what its record says.
func TestLedgersKeepEveryBudget(t *testing.T) {
	const worlds, cycles = 300, 40
	evictions := 0
	for seed := range uint64(worlds) {
		evictions += ledgerRun(t, seed, cycles)
	}
	t.Logf("%d worlds, %d cycles each: %d evictions checked", worlds, cycles, evictions)
	if evictions < worlds {
		t.Errorf("only %d evictions over %d worlds: the test exercises too little", evictions, worlds)
	}
}

func ledgerRun(t *testing.T, seed uint64, cycles int) int {
	t.Helper()
	w := plannertest.Random(seed)
	rng := rand.New(rand.NewPCG(seed, 77))
	// The API server's copies of the policy and the SLOs.
	policy, slos := w.Policy, w.SLOs
	policy.Spec.DryRun = new(bool)
	// Ledger entries already there are evictions of the past: the budgets count them too.
	var seen []eviction
	for _, d := range policy.Status.Ledger {
		seen = append(seen, eviction{at: d.Time.Time, stored: d.Time.Time, ns: d.Namespace})
	}
	sloSeen := map[string][]eviction{}
	for _, s := range slos {
		for _, d := range s.Status.Ledger {
			sloSeen[s.Namespace+"/"+s.Name] = append(sloSeen[s.Namespace+"/"+s.Name], eviction{at: d.Time.Time, stored: d.Time.Time, stateful: d.Stateful})
		}
	}
	replicas := []planner.State{{}, {}} // the memory of two evictor replicas
	leader := 0
	now := plannertest.Now
	made := 0
	for cycle := range cycles {
		switch rng.IntN(10) {
		case 0: // restart: the leader's memory is lost, the ledgers are read back
			replicas[leader] = planner.State{}
			policy, slos = roundTrip(t, policy), roundTripAll(t, slos)
		case 1: // leader change: the other replica, with what it remembered, takes over
			leader = 1 - leader
			policy, slos = roundTrip(t, policy), roundTripAll(t, slos)
		case 2: // a clock step of up to 70 minutes
			now = now.Add(time.Duration(rng.Int64N(int64(70 * time.Minute))))
		}
		now = now.Add(time.Duration(rng.Int64N(int64(5*time.Minute))) + time.Duration(rng.IntN(1000))*time.Millisecond)
		if r := rng.IntN(4); r == 0 && len(seen) > 0 {
			// The edge of a window: less than a second before an eviction is an hour old, after
			// a restart (the ledger read back with times to the second).
			if edge := seen[rng.IntN(len(seen))].at.Add(time.Hour - time.Duration(1+rng.IntN(999))*time.Millisecond); edge.After(now) {
				now = edge
				replicas[leader] = planner.State{}
				policy, slos = roundTrip(t, policy), roundTripAll(t, slos)
			}
		}
		freshReadings(&w.Snapshot, now)

		// The status writer, then the plan.
		trimPolicyLedger(policy, now)
		for _, s := range slos {
			trimSLOLedger(s, now)
		}
		res := planner.Plan(w.Snapshot, policy, slos, replicas[leader], now)
		replicas[leader] = res.State
		cfg, err := planner.Resolve(policy, w.Snapshot.PriorityClasses)
		if err != nil {
			continue
		}
		// The executor: a fresh check on the stored ledgers, then the write-ahead entry.
		for _, m := range res.Moves {
			pod := findPod(w.Pods, m.Pod)
			if reasons := planner.NewEligibility(&w.Snapshot, cfg, policy, slos, replicas[leader], now).Check(planner.NewPod(pod)); len(reasons) > 0 {
				continue
			}
			entry := disruptionOf(policy, m, now)
			policy.Status.Ledger = editedLedger(policy.Status.Ledger, entry, true, now, policyRetention(policy))
			e := eviction{at: now, stored: entry.Time.Time, ns: pod.Namespace, stateful: m.Stateful, slos: m.SLOs}
			for _, key := range m.SLOs {
				s := sloByKey(slos, key)
				s.Status.Ledger = editedLedger(s.Status.Ledger, entry, true, now, ledger.Window)
				sloSeen[key] = append(sloSeen[key], e)
			}
			seen = append(seen, e)
			made++
			checkWindows(t, seed, cycle, policy, slos, seen, sloSeen, e)
		}
		checkReports(t, seed, cycle, policy, slos, seen, sloSeen, now)
	}
	return made
}

// checkWindows checks the budgets over the hour ending at the new eviction e.
func checkWindows(t *testing.T, seed uint64, cycle int, p *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, seen []eviction, sloSeen map[string][]eviction, e eviction) {
	t.Helper()
	where := fmt.Sprintf("seed %d cycle %d", seed, cycle)
	cfg, err := planner.Resolve(p, nil)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if n := countIn(seen, e.at, func(eviction) bool { return true }); n > cfg.MaxPerHour {
		t.Errorf("%s: %d evictions in the hour ending %s, over maxEvictionsPerHour %d", where, n, e.at, cfg.MaxPerHour)
	}
	if limit, ok := cfg.NamespaceBudgets[e.ns]; ok {
		if n := countIn(seen, e.at, func(x eviction) bool { return x.ns == e.ns }); n > limit {
			t.Errorf("%s: %d evictions in namespace %s in the hour ending %s, over its budget %d", where, n, e.ns, e.at, limit)
		}
	}
	for _, key := range e.slos {
		s := sloByKey(slos, key)
		if n := countIn(sloSeen[key], e.at, func(eviction) bool { return true }); n > ledger.SLOLimit(s) {
			t.Errorf("%s: %d disruptions of WorkloadSLO %s in the hour ending %s, over %d", where, n, key, e.at, ledger.SLOLimit(s))
		}
		if e.stateful {
			if s.Spec.AllowStateful == nil || !*s.Spec.AllowStateful {
				t.Errorf("%s: a stateful pod under WorkloadSLO %s, which does not allow stateful moves, was evicted", where, key)
			}
			if s.Spec.MaxStatefulDisruptionsPerHour != nil {
				if n := countIn(sloSeen[key], e.at, func(x eviction) bool { return x.stateful }); n > int(*s.Spec.MaxStatefulDisruptionsPerHour) {
					t.Errorf("%s: %d stateful disruptions of WorkloadSLO %s in the hour ending %s, over %d", where, n, key, e.at, *s.Spec.MaxStatefulDisruptionsPerHour)
				}
			}
		}
	}
}

// checkReports checks that the status and the planner's budgets say what the record says, counted
// by the times the ledger stores.
func checkReports(t *testing.T, seed uint64, cycle int, p *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, seen []eviction, sloSeen map[string][]eviction, now time.Time) {
	t.Helper()
	where := fmt.Sprintf("seed %d cycle %d", seed, cycle)
	trimPolicyLedger(p, now)
	if want := storedIn(seen, now, func(eviction) bool { return true }); int(p.Status.EvictionsLastHour) != want {
		t.Errorf("%s: status evictionsLastHour %d, the record says %d", where, p.Status.EvictionsLastHour, want)
	}
	left := planner.NamespaceBudgetsLeft(p, &planner.Result{Time: now})
	for _, b := range p.Spec.NamespaceBudgets {
		want := ledger.Remaining(int(b.MaxDisruptionsPerHour), storedIn(seen, now, func(x eviction) bool { return x.ns == b.Namespace }))
		if left[b.Namespace] != want {
			t.Errorf("%s: namespace %s has %d disruptions left by the planner, the record says %d", where, b.Namespace, left[b.Namespace], want)
		}
	}
	for _, s := range slos {
		key := s.Namespace + "/" + s.Name
		trimSLOLedger(s, now)
		want := ledger.Remaining(ledger.SLOLimit(s), storedIn(sloSeen[key], now, func(eviction) bool { return true }))
		if got := *s.Status.DisruptionsRemaining; int(got) != want {
			t.Errorf("%s: WorkloadSLO %s status says %d disruptions left, the record says %d", where, key, got, want)
		}
	}
}

// countIn counts the evictions that match in the hour ending at end: end - 1h < at <= end.
func countIn(es []eviction, end time.Time, match func(eviction) bool) int {
	n := 0
	for _, e := range es {
		if !e.at.After(end) && end.Sub(e.at) < time.Hour && match(e) {
			n++
		}
	}
	return n
}

// storedIn counts the evictions that match and whose ledger entries count at now (the ledger's
// rule: now - stored < 1h; an entry is stored up to a second after its eviction, so it counts
// up to a second longer than the hour, never shorter).
func storedIn(es []eviction, now time.Time, match func(eviction) bool) int {
	n := 0
	for _, e := range es {
		if now.Sub(e.stored) < time.Hour && match(e) {
			n++
		}
	}
	return n
}

func freshReadings(s *planner.Snapshot, now time.Time) {
	for k, v := range s.Usage.Nodes {
		v.Time = now
		s.Usage.Nodes[k] = v
	}
	for k, v := range s.Usage.Pods {
		v.Time = now
		s.Usage.Pods[k] = v
	}
}

func roundTrip[T any](t *testing.T, obj *T) *T {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func roundTripAll(t *testing.T, slos []*v1alpha1.WorkloadSLO) []*v1alpha1.WorkloadSLO {
	out := make([]*v1alpha1.WorkloadSLO, len(slos))
	for i, s := range slos {
		out[i] = roundTrip(t, s)
	}
	return out
}

func sloByKey(slos []*v1alpha1.WorkloadSLO, key string) *v1alpha1.WorkloadSLO {
	for _, s := range slos {
		if s.Namespace+"/"+s.Name == key {
			return s
		}
	}
	return nil
}

func findPod(pods []*corev1.Pod, ref planner.PodRef) *corev1.Pod {
	for _, p := range pods {
		if p.Namespace == ref.Namespace && p.Name == ref.Name {
			return p
		}
	}
	return nil
}
