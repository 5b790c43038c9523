package evictor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/dashboard"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// skewed builds the usual picture: node hot at 3600m/12Gi of 4/16 (score 0.825), nodes cold and
// mid at 400m/1Gi and 1600m/6Gi. Pods of the given apps run on the hot node, 600m/2Gi each.
func skewed(s *scenario, apps map[string]int) (hot string, pods []string) {
	hot = s.node("hot", 3600, 12)
	s.node("cold", 400, 1)
	s.node("mid", 1600, 6)
	for app, n := range apps {
		for i := 0; i < n; i++ {
			name := app + "-" + string(rune('a'+i))
			s.pod(name, hot, app, 600, 2048, optIn, replicaSet(app))
			pods = append(pods, name)
		}
		// One more replica elsewhere so no pod is its workload's only one.
		s.pod(app+"-elsewhere", s.ns+"-mid", app, 100, 128, optIn, replicaSet(app))
	}
	return hot, pods
}

// 1. Dry-run smoke: the default policy (dry-run) raises the dry-run counter and evicts nothing.
func TestDryRunSmoke(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"web": 3})
	ev := startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.DryRun = nil }) // the default: dry-run
	p := s.waitCycle(start)
	if got := s.policyNow().Spec.DryRun; got == nil || !*got {
		t.Fatalf("dryRun defaulted to %v, want true", got)
	}
	s.eventually("the dry-run counter to rise", func() bool { return testutil.ToFloat64(ev.metrics.DryRunEvictions) > 0 })
	if n := s.evictedCount(pods...); n != 0 {
		t.Errorf("%d pods evicted in dry-run", n)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionDryRun); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("DryRun condition %+v", c)
	}
	if p.Status.LastPlan == nil || p.Status.LastPlan.Moves == 0 || !strings.Contains(p.Status.LastPlan.Message, "would evict") {
		t.Errorf("last plan %+v, want moves reported as would-evict", p.Status.LastPlan)
	}
	if p.Status.HotNodes != 1 || len(p.Status.HotNodeNames) != 1 {
		t.Errorf("hot nodes %d %v, want 1", p.Status.HotNodes, p.Status.HotNodeNames)
	}
	s.eventually("a WouldEvict event", func() bool { return len(eventsWithReason(s.ns, "WouldEvict")) > 0 })
	if n := testutil.CollectAndCount(ev.metrics.Evictions); n != 0 {
		t.Errorf("the evictions counter has %d series in dry-run, want none", n)
	}
}

// 2. Budget enforcement: WorkloadSLO maxDisruptionsPerHour 1 and two hot pods: one eviction, the
// other stays pending with a reason containing "budget exhausted".
func TestWorkloadSLOBudget(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 4000, 16)
	s.node("cold", 200, 1)
	s.node("cold2", 200, 1)
	for _, name := range []string{"api-a", "api-b"} {
		s.pod(name, hot, "api", 400, 1024, optIn, replicaSet("api"))
	}
	s.pod("api-c", s.ns+"-cold", "api", 100, 128, optIn, replicaSet("api"))
	create(t, &v1alpha1.WorkloadSLO{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "api"},
		Spec: v1alpha1.WorkloadSLOSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, MaxDisruptionsPerHour: ptr.To[int32](1)}})
	ev := startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.PodBackoff = &metav1.Duration{} })
	s.waitCycle(start)
	s.eventually("one eviction", func() bool { return s.evictedCount("api-a", "api-b") == 1 })

	var slo v1alpha1.WorkloadSLO
	s.eventually("the SLO status to show the pending pod", func() bool {
		if err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: "api"}, &slo); err != nil {
			return false
		}
		for _, p := range slo.Status.Pending {
			if strings.Contains(p.Reason, "budget exhausted") {
				return true
			}
		}
		return false
	})
	if len(slo.Status.Ledger) != 1 || ptr.Deref(slo.Status.DisruptionsRemaining, -1) != 0 {
		t.Errorf("SLO ledger %v remaining %v, want one entry and 0 left", slo.Status.Ledger, slo.Status.DisruptionsRemaining)
	}
	s.eventually(`a "budget exhausted" event`, func() bool {
		for _, e := range eventsWithReason(s.ns, "BudgetExhausted") {
			if strings.Contains(e, "budget exhausted") {
				return true
			}
		}
		return false
	})
	if got := testutil.ToFloat64(ev.metrics.Evictions.WithLabelValues(s.ns, string(planner.ReasonLowersSigma))); got != 1 {
		t.Errorf("evictions counter %v, want 1", got)
	}
	// Another cycle later, still one eviction.
	s.waitCycle(time.Now())
	if n := s.evictedCount("api-a", "api-b"); n != 1 {
		t.Errorf("%d evictions after another cycle, want 1", n)
	}
}

// 3. PDB compliance: a budget the disruption controller computes at 0 keeps its pods; a pod under
// two budgets is skipped with an event.
func TestPDBCompliance(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 3800, 15)
	s.node("cold", 200, 1)
	s.node("cold2", 200, 1)
	for _, name := range []string{"db-a", "db-b"} {
		s.pod(name, hot, "db", 500, 2048, optIn, replicaSet("db"))
	}
	s.pod("two-a", hot, "two", 500, 2048, optIn, replicaSet("two"))
	s.pod("two-b", s.ns+"-cold", "two", 100, 128, optIn, replicaSet("two"))
	s.pdb("db", map[string]string{"app": "db"}, 2) // 2 of 2 must stay: 0 allowed
	s.pdb("two", map[string]string{"app": "two"}, 0)
	s.pdb("everything-two", map[string]string{"app": "two"}, 0)
	s.waitPDB("db", 0)
	s.waitPDB("two", 2)
	startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(nil)
	p := s.waitCycle(start)
	if n := s.evictedCount("db-a", "db-b", "two-a"); n != 0 {
		t.Fatalf("%d pods evicted despite their PodDisruptionBudgets", n)
	}
	reasons := map[string]int32{}
	for _, r := range p.Status.LastPlan.HeldBackReasons {
		reasons[r.Reason] = r.Count
	}
	if reasons[string(planner.ReasonPDBNoDisruptions)] != 2 || reasons[string(planner.ReasonMultiplePDBs)] != 1 {
		t.Errorf("held back by reason %v, want 2 PDBAllowsNoDisruption and 1 MultiplePDBs", reasons)
	}
	if got := p.Status.LastPlan.StoppedBy; got != string(planner.ReasonPDBNoDisruptions) {
		t.Errorf("lastPlan.stoppedBy %q, want %s (it held back the most candidates)", got, planner.ReasonPDBNoDisruptions)
	}
	s.eventually("a MultiplePDBs event", func() bool { return len(eventsWithReason(s.ns, "MultiplePDBs")) > 0 })
}

// 4. Priority guardrails: a system-cluster-critical pod is never a candidate.
func TestPriorityGuardrails(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 3800, 15)
	s.node("cold", 200, 1)
	s.node("cold2", 200, 1)
	critical := func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-cluster-critical" }
	s.pod("crit-a", hot, "crit", 800, 4096, optIn, replicaSet("crit"), critical)
	s.pod("crit-b", hot, "crit", 800, 4096, optIn, replicaSet("crit"), critical)
	startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(nil)
	p := s.waitCycle(start)
	if n := s.evictedCount("crit-a", "crit-b"); n != 0 {
		t.Fatalf("%d system-cluster-critical pods evicted", n)
	}
	found := false
	for _, r := range p.Status.LastPlan.HeldBackReasons {
		found = found || (r.Reason == string(planner.ReasonSystemCritical) && r.Count == 2)
	}
	if !found {
		t.Errorf("held back %v, want 2 SystemCritical", p.Status.LastPlan.HeldBackReasons)
	}
	// Both pods are held back by SystemCritical and by HighPriority (system-cluster-critical is
	// above the priority threshold); the tie goes to the rule that reports first.
	if lp := p.Status.LastPlan; lp.StoppedBy != string(planner.ReasonSystemCritical) || !strings.Contains(lp.Message, "stopped by SystemCritical (2 candidate(s))") {
		t.Errorf("lastPlan stoppedBy %q, message %q: want SystemCritical, which held back both candidates", lp.StoppedBy, lp.Message)
	}
}

// 5. Restart mid-hour: the budget spent before a restart stays spent after it.
func TestRestartKeepsBudget(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 4000, 16)
	s.node("cold", 200, 1)
	s.node("cold2", 200, 1)
	for _, name := range []string{"api-a", "api-b", "api-c"} {
		s.pod(name, hot, "api", 400, 1024, optIn, replicaSet("api"))
	}
	create(t, &v1alpha1.WorkloadSLO{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "api"},
		Spec: v1alpha1.WorkloadSLOSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, MaxDisruptionsPerHour: ptr.To[int32](1)}})
	first := startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.PodBackoff = &metav1.Duration{} })
	s.waitCycle(start)
	s.eventually("the first eviction", func() bool { return s.evictedCount("api-a", "api-b", "api-c") == 1 })
	first.stop()

	restarted := time.Now()
	second := startEvictor(t, s.src, options{})
	p := s.waitCycle(restarted)
	if n := s.evictedCount("api-a", "api-b", "api-c"); n != 1 {
		t.Fatalf("%d evictions after the restart, want still 1", n)
	}
	if p.Status.EvictionsLastHour != 1 {
		t.Errorf("evictionsLastHour %d, want 1 (from the ledger)", p.Status.EvictionsLastHour)
	}
	if got := testutil.ToFloat64(second.metrics.Evictions.WithLabelValues(s.ns, string(planner.ReasonLowersSigma))); got != 0 {
		t.Errorf("the restarted evictor evicted %v pods", got)
	}
}

// 6. Stale or missing metrics: nothing is evicted and the policy says why.
func TestStaleOrMissingMetrics(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(s *scenario, hot string)
		reason  string
	}{
		{"stale", func(s *scenario, hot string) {
			for _, n := range []string{hot, s.ns + "-cold", s.ns + "-mid"} {
				s.src.node(n, 100, 1, time.Now().Add(-time.Hour))
			}
		}, v1alpha1.ReasonMetricsStale},
		{"source down", func(s *scenario, _ string) { s.src.fail(errors.New("metrics.k8s.io unavailable")) }, v1alpha1.ReasonSourceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			hot, pods := skewed(s, map[string]int{"web": 3})
			tc.breakIt(s, hot)
			startEvictor(t, s.src, options{})
			start := time.Now()
			s.createPolicy(nil)
			p := s.waitCycle(start)
			c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tc.reason {
				t.Errorf("MetricsAvailable %+v, want False/%s", c, tc.reason)
			}
			if r := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.Status != metav1.ConditionFalse {
				t.Errorf("Ready %+v, want False", r)
			}
			if n := s.evictedCount(pods...); n != 0 {
				t.Errorf("%d pods evicted without fresh usage", n)
			}
		})
	}
}

// 7. Leader election: of two evictors, only the leader evicts.
func TestLeaderElection(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"a": 2, "b": 2, "c": 2})
	one := startEvictor(t, s.src, options{leaderElect: true, identity: "-one"})
	two := startEvictor(t, s.src, options{leaderElect: true, identity: "-two"})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.RateLimits.MaxEvictionsPerCycle, p.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](1), ptr.To[int32](1)
	})
	s.waitCycle(start)
	s.eventually("an eviction", func() bool { return s.evictedCount(pods...) >= 1 })
	// Two more cycles: each evicts at most one pod, and only one instance ever does.
	s.waitCycle(time.Now())
	e1 := testutil.ToFloat64(one.metrics.Evictions.WithLabelValues(s.ns, string(planner.ReasonLowersSigma)))
	e2 := testutil.ToFloat64(two.metrics.Evictions.WithLabelValues(s.ns, string(planner.ReasonLowersSigma)))
	if (e1 > 0) == (e2 > 0) {
		t.Errorf("evictions: instance one %v, instance two %v; want exactly one instance evicting", e1, e2)
	}
	if got := s.evictedCount(pods...); float64(got) != e1+e2 {
		t.Errorf("%d pods evicted, counters say %v", got, e1+e2)
	}
}

// 7b. Any replica serves the dashboard: a standby answers the API from the leader, which it finds
// through the Lease (whose holder names the leader's pod) and the pod's IP and metrics port; after
// a failover the new leader answers itself and a restarted replica asks it. No pod is patched.
func TestStandbyDashboardAsksTheLeader(t *testing.T) {
	s := newScenario(t)
	skewed(s, map[string]int{"web": 3})
	addrs := map[string]string{}
	podOf := func(name string) types.NamespacedName {
		addr := freeLoopbackAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name, Labels: map[string]string{"app": "evictor"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "evictor", Image: "tinorodney/rebalancer-evictor",
				Ports: []corev1.ContainerPort{{Name: "http-metrics", ContainerPort: int32(p)}}}}}}
		create(t, pod)
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}}}
		if err := env.Client.Status().Update(context.Background(), pod); err != nil {
			t.Fatal(err)
		}
		addrs[name] = addr
		return types.NamespacedName{Namespace: s.ns, Name: name}
	}
	get := func(name, path string) (int, string, string) {
		r, err := http.Get("http://" + addrs[name] + path)
		if err != nil {
			return 0, "", err.Error()
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header.Get(dashboard.LeaderHeader), string(b)
	}
	isLeader := func(in *instance) bool {
		select {
		case <-in.elected:
			return true
		default:
			return false
		}
	}
	podOne, podTwo := podOf("evictor-one"), podOf("evictor-two")
	one := startEvictor(t, s.src, options{leaderElect: true, identity: "-one", pod: podOne, metricsAddr: addrs[podOne.Name]})
	two := startEvictor(t, s.src, options{leaderElect: true, identity: "-two", pod: podTwo, metricsAddr: addrs[podTwo.Name]})
	s.eventually("one leader", func() bool { return isLeader(one) != isLeader(two) })
	leader, standby, leaderPod, standbyPod := one, two, podOne, podTwo
	if isLeader(two) {
		leader, standby, leaderPod, standbyPod = two, one, podTwo, podOne
	}
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.DryRun = ptr.To(true) })
	s.waitCycle(start)
	s.eventually("the leader's dashboard lists the policy", func() bool {
		code, _, body := get(leaderPod.Name, "/api/v1/policies")
		return code == http.StatusOK && strings.Contains(body, s.policy.Name)
	})
	code, via, body := get(standbyPod.Name, "/api/v1/policies")
	_, _, fromLeader := get(leaderPod.Name, "/api/v1/policies")
	if code != http.StatusOK || via != leaderPod.Name || body != fromLeader {
		t.Errorf("standby's /api/v1/policies: %d via %q %q; want 200 from the leader %s: %q", code, via, body, leaderPod.Name, fromLeader)
	}
	if code, _, _ := get(standbyPod.Name, "/dashboard/"); code != http.StatusOK {
		t.Errorf("standby's /dashboard/: %d, want 200 (the page is served by every replica)", code)
	}
	t.Logf("standby %s answered /api/v1/policies from the leader %s", standbyPod.Name, leaderPod.Name)

	// Failover: the new leader answers itself; a replica restarted in the old leader's pod asks it.
	leader.stop()
	s.eventually("the standby to lead", func() bool { return isLeader(standby) })
	s.waitCycle(time.Now())
	s.eventually("the new leader answers itself", func() bool {
		code, via, body := get(standbyPod.Name, "/api/v1/policies")
		return code == http.StatusOK && via == "" && strings.Contains(body, s.policy.Name)
	})
	startEvictor(t, s.src, options{leaderElect: true, identity: "-restarted", pod: leaderPod, metricsAddr: addrs[leaderPod.Name]})
	s.eventually("the restarted replica asks the new leader", func() bool {
		code, via, _ := get(leaderPod.Name, "/api/v1/policies")
		return code == http.StatusOK && via == standbyPod.Name
	})

	// The evictor patches no pod: the pods' labels are as created.
	for _, key := range []types.NamespacedName{podOne, podTwo} {
		var p corev1.Pod
		if err := env.Client.Get(context.Background(), key, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Labels) != 1 || p.Labels["app"] != "evictor" {
			t.Errorf("pod %s labels %v, want only app=evictor", key.Name, p.Labels)
		}
	}
}

// 8. Invalid runtime configuration: the policy says why and evicts nothing.
func TestInvalidRuntimeConfig(t *testing.T) {
	cases := []struct {
		name      string
		mod       func(p *v1alpha1.RebalancePolicySpec)
		condition string
		reason    string
	}{
		{"unknown PriorityClass", func(p *v1alpha1.RebalancePolicySpec) {
			p.Safety = &v1alpha1.Safety{PriorityThreshold: &v1alpha1.PriorityThreshold{Name: "does-not-exist"}}
		}, v1alpha1.ConditionConfigValid, v1alpha1.ReasonUnknownPriorityClass},
		{"Prometheus that does not answer", func(p *v1alpha1.RebalancePolicySpec) {
			p.Metrics = &v1alpha1.MetricsSource{Source: v1alpha1.UsageSourcePrometheus, Prometheus: &v1alpha1.PrometheusSource{Address: "http://127.0.0.1:1"}}
		}, v1alpha1.ConditionMetricsAvailable, v1alpha1.ReasonPrometheusUnreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			_, pods := skewed(s, map[string]int{"web": 3})
			startEvictor(t, s.src, options{})
			start := time.Now()
			s.createPolicy(tc.mod)
			p := s.waitCycle(start)
			c := meta.FindStatusCondition(p.Status.Conditions, tc.condition)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tc.reason {
				t.Errorf("%s %+v, want False/%s", tc.condition, c, tc.reason)
			}
			if n := s.evictedCount(pods...); n != 0 {
				t.Errorf("%d pods evicted under an unusable configuration", n)
			}
		})
	}
}
