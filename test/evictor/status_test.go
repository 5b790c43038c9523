package evictor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// A node the usage source reports nothing for is left out, listed in the status with its reason,
// and MetricsAvailable says readings are partial; the other nodes are balanced.
func TestNodesWithoutReadingsAreListed(t *testing.T) {
	s := newScenario(t)
	skewed(s, map[string]int{"web": 3})
	s.src.drop(s.ns + "-mid")
	startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) { p.DryRun = ptr.To(true) })
	p := s.waitCycle(start)
	c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonPartialReadings {
		t.Errorf("MetricsAvailable %+v, want True/%s", c, v1alpha1.ReasonPartialReadings)
	}
	want := []v1alpha1.ExcludedNode{{Name: s.ns + "-mid", Reason: "NoReading", Message: "no usage reading"}}
	if p.Status.ExcludedNodeCount != 1 || len(p.Status.ExcludedNodes) != 1 || p.Status.ExcludedNodes[0] != want[0] {
		t.Errorf("excludedNodes %+v (count %d), want %+v", p.Status.ExcludedNodes, p.Status.ExcludedNodeCount, want)
	}
	if p.Status.Nodes != 2 {
		t.Errorf("status.nodes %d, want the 2 nodes with readings", p.Status.Nodes)
	}
}

// An older policy that cannot work (it names a PriorityClass that does not exist) evicts nothing
// and does not keep a valid newer policy from the nodes both select; it says what its spec asks
// (dry-run) and that nothing is evicted.
func TestInvalidPolicyDoesNotBlockAValidOne(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"web": 3})
	startEvictor(t, s.src, options{})
	broken := &v1alpha1.RebalancePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns + "-broken"},
		Spec: v1alpha1.RebalancePolicySpec{
			DryRun:       ptr.To(true),
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"test": s.label}},
			Safety:       &v1alpha1.Safety{PriorityThreshold: &v1alpha1.PriorityThreshold{Name: "does-not-exist"}},
			Interval:     &metav1.Duration{Duration: 10 * time.Second},
		},
	}
	create(t, broken)
	time.Sleep(1100 * time.Millisecond) // the valid policy is the newer one, by creation time
	start := time.Now()
	s.createPolicy(nil)
	p := s.waitCycle(start)
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionConflict); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("the valid policy's Conflict %+v, want False: an invalid policy owns no node", c)
	}
	s.eventually("the valid policy evicts from the hot node", func() bool { return s.evictedCount(pods...) > 0 })

	var got v1alpha1.RebalancePolicy
	s.eventually("the broken policy reports its conditions", func() bool {
		if err := getPolicy(broken.Name, &got); err != nil {
			return false
		}
		return meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionConfigValid) != nil
	})
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionConfigValid); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonUnknownPriorityClass {
		t.Errorf("broken policy ConfigValid %+v, want False/UnknownPriorityClass", c)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDryRun); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("broken policy DryRun %+v, want True (its spec asks for dry-run)", c)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("broken policy Ready %+v, want False", c)
	}
}

func getPolicy(name string, into *v1alpha1.RebalancePolicy) error {
	return env.Client.Get(context.Background(), client.ObjectKey{Name: name}, into)
}

// A pod the Rebalancer's scheduler places is not evicted while no scheduler replica leads (its
// Lease expired): its replacement would stay Pending. Once the Lease is renewed, it is.
func TestSchedulerUnavailable(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 3600, 12)
	s.node("cold", 400, 1)
	var pods []string
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		s.pod(name, hot, "web", 600, 2048, optIn, replicaSet("web"), ours)
		pods = append(pods, name)
	}
	s.pod("web-elsewhere", s.ns+"-cold", "web", 100, 128, optIn, replicaSet("web"), ours)
	stale := metav1.NewMicroTime(time.Now().Add(-time.Hour))
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "rebalancer-scheduler"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("scheduler-0"), LeaseDurationSeconds: ptr.To[int32](15), RenewTime: &stale}}
	create(t, lease)
	startEvictor(t, s.src, options{schedulerLease: s.ns + "/rebalancer-scheduler"})
	start := time.Now()
	s.createPolicy(nil)
	p := s.waitCycle(start)
	if n := s.evictedCount(pods...); n != 0 {
		t.Fatalf("%d pods evicted while their scheduler has no leader", n)
	}
	held := 0
	if p.Status.LastPlan != nil {
		for _, r := range p.Status.LastPlan.HeldBackReasons {
			if strings.Contains(r.Reason, "not running") || r.Reason == "SchedulerUnavailable" {
				held += int(r.Count)
			}
		}
	}
	if held == 0 {
		t.Errorf("held back %+v, want the pods held back because their scheduler is not running", p.Status.LastPlan)
	}

	now := metav1.NewMicroTime(time.Now())
	lease.Spec.RenewTime = &now
	if err := env.Client.Update(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	s.eventually("a pod is evicted once the scheduler leads again", func() bool { return s.evictedCount(pods...) > 0 })
}
