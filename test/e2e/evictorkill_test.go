//go:build e2e

package e2e_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Fault: the evictor process killed with SIGKILL in the middle of a cycle, the moment its
// write-ahead ledger entries for the cycle's evictions reach the API server (so between the entry
// and the eviction calls, or while they are in flight), then started again as a kubelet restarts
// a container. Invariants, read from the API server: no pod evicted without its ledger entry (an
// entry whose call never went out stays counted, the safe side), the hourly limit kept across
// the restart, no workload evicted twice within its backoff (10m), and the restarted evictor
// evicting again and Ready.
func TestEvictorKilledMidCycle(t *testing.T) {
	const ns, hourly = "e2e-evictor-kill", 4
	ws := []workload{
		{name: "web", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
		{name: "api", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
		{name: "db", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
	}
	namespace(t, ns)
	placeOn(t, ws...)
	before := owners(t, ws...)
	entries := func(p *v1alpha1.RebalancePolicy) int { return ledgerEntries(p, ns) }
	evicted := func() (int, map[string]int) { return evictedSince(t, before, ws...) }

	// Two evictions a cycle, so that the kill lands among several moves in flight.
	policy(t, false, func(s *v1alpha1.RebalancePolicySpec) {
		s.RateLimits.MaxEvictionsPerCycle = ptr.To[int32](2)
		s.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](2)
		s.RateLimits.MaxEvictionsPerHour = ptr.To[int32](hourly)
		s.PodBackoff = &metav1.Duration{Duration: 10 * time.Minute}
	})
	// Polled every 20ms rather than each second: the calls follow their entries within
	// milliseconds, and the kill should land as close to them as a process outside can.
	for deadline := time.Now().Add(3 * time.Minute); entries(policyNow(t)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Timed out after 3m0s waiting until the first write-ahead ledger entry")
		}
	}
	pid := env.evictor.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatalf("Killing the evictor (%d): %v", pid, err)
	}
	_ = env.evictor.Wait()
	atKill := entries(policyNow(t))
	time.Sleep(3 * time.Second) // evictions the API server accepted before the kill show by now
	gone, _ := evicted()
	t.Logf("injected: the evictor killed (SIGKILL) once its write-ahead ledger entries were written: %d entries, %d of their evictions went through before the kill", atKill, gone)
	if gone > atKill {
		t.Errorf("%d pods evicted but only %d ledger entries: an eviction went out without its entry", gone, atKill)
	}

	if err := env.startEvictor(); err != nil {
		t.Fatal(err)
	}
	if err := waitHTTP("http://"+probeAddr+"/readyz", 2*time.Minute); err != nil {
		t.Fatalf("the restarted evictor is not ready: %v", err)
	}
	// Three workloads, two evictions a cycle: at least one workload is left to evict after the kill
	// (the hot node stays hot after two moves).
	waitUntil(t, 4*time.Minute, "an eviction by the restarted evictor", func(context.Context) (bool, error) {
		n, _ := evicted()
		return n > gone, nil
	})
	after := policyNow(t).Status.LastCycleTime
	waitUntil(t, 2*time.Minute, "two more cycles", func(context.Context) (bool, error) {
		p := policyNow(t)
		return p.Status.LastCycleTime != nil && after != nil && p.Status.LastCycleTime.Sub(after.Time) >= 2*cycle-time.Second, nil
	})

	p := policyNow(t)
	n, byWorkload := evicted()
	if e := entries(p); n > e || e > hourly {
		t.Errorf("%d pods evicted, %d ledger entries: want an entry for every eviction and at most %d entries (the hourly limit): %+v", n, e, hourly, p.Status.Ledger)
	}
	for wl, k := range byWorkload {
		if k > 1 {
			t.Errorf("workload %s evicted %d times within its 10m backoff", wl, k)
		}
	}
	if cond := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Errorf("Ready %+v after the restart, want True", cond)
	}
	t.Logf("held: %d evictions, %d ledger entries (%d written before the kill), by workload %v; the restarted evictor Ready, the status Ready True",
		n, entries(p), atKill, byWorkload)
}
