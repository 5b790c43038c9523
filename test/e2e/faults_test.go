//go:build e2e

package e2e_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Fault: the rebalancer-scheduler process is killed (SIGKILL). Once its leader Lease expires the
// evictor evicts none of its pods (their replacements would stay Pending) and says why
// (SchedulerUnavailable); restarted, the scheduler takes the Lease again and evictions resume.
// What held is read from the API server: the pods' UIDs, the Lease, the policy's status.
func TestSchedulerKilled(t *testing.T) {
	w := workload{name: "web", namespace: "e2e-scheduler-killed", replicas: 4, use: hotUsage, optIn: true}
	namespace(t, w.namespace)
	placeOn(t, w)
	before := uids(t, w)

	sched := env.scheduler
	if err := syscall.Kill(-sched.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := env.startScheduler(); err != nil {
				t.Errorf("restarting the scheduler: %v", err)
			}
		}
	})
	ns, name, _ := strings.Cut(schedulerLease, "/")
	waitUntil(t, time.Minute, "the scheduler's Lease expires", func(ctx context.Context) (bool, error) {
		var l coordinationv1.Lease
		if err := env.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &l); err != nil {
			return false, nil //nolint:nilerr // retried
		}
		if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
			return false, nil
		}
		return time.Since(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds)*time.Second)) > 0, nil
	})
	t.Log("injected: rebalancer-scheduler killed with SIGKILL; its Lease expired")

	policy(t, false, nil)
	waitUntil(t, 3*time.Minute, "the policy holds the scheduler's pods back (SchedulerUnavailable)", func(ctx context.Context) (bool, error) {
		var p v1alpha1.RebalancePolicy
		if err := env.c.Get(ctx, types.NamespacedName{Name: "default"}, &p); err != nil || p.Status.LastPlan == nil {
			return false, nil //nolint:nilerr // retried
		}
		for _, r := range p.Status.LastPlan.HeldBackReasons {
			if r.Reason == "SchedulerUnavailable" && r.Count > 0 {
				return true, nil
			}
		}
		return false, nil
	})
	time.Sleep(2 * cycle)
	if got := uids(t, w); !sameKeys(before, got) {
		t.Fatalf("pods were replaced while their scheduler was down: before %v, after %v", before, got)
	}
	if n := value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": w.namespace}); n != 0 {
		t.Errorf("rebalancer_evictions_total{namespace=%q} = %v while the scheduler was down, want 0", w.namespace, n)
	}

	if err := env.startScheduler(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitUntil(t, 4*time.Minute, "an eviction once the scheduler is back", func(context.Context) (bool, error) {
		return !sameKeys(before, uids(t, w)), nil
	})
	waitUntil(t, 2*time.Minute, "every replica runs", func(context.Context) (bool, error) {
		n := 0
		for _, p := range podsOf(t, w) {
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
				n++
			}
		}
		return n == int(w.replicas), nil
	})
	t.Log("held: no eviction while the scheduler was down (SchedulerUnavailable in the status); evictions resumed and every replacement was scheduled once it was back")
}
