package evictor_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestDestinations: with no cold node, the default policy (destinations Cold) evicts nothing and
// counts the candidates as DestinationNotCold; switched to NotHot, it moves a pod to a normal node.
func TestDestinations(t *testing.T) {
	s := newScenario(t)
	hot := s.node("hot", 3600, 12) // 0.5*0.9 + 0.5*0.75 = 0.825: hot
	mid := s.node("mid", 1600, 6)  // 0.5*0.4 + 0.5*0.375 = 0.39: normal, not cold (0.35)
	s.node("mid2", 2000, 8)        // 0.5: normal
	for _, name := range []string{"web-a", "web-b"} {
		s.pod(name, hot, "web", 600, 2048, optIn, replicaSet("web"))
	}
	s.pod("web-elsewhere", mid, "web", 100, 128, optIn, replicaSet("web"))
	ev := startEvictor(t, s.src, options{})
	start := time.Now()
	s.createPolicy(nil)
	p := s.waitCycle(start)
	if p.Spec.Destinations == nil || *p.Spec.Destinations != v1alpha1.DestinationsCold {
		t.Fatalf("destinations defaulted to %v, want Cold", p.Spec.Destinations)
	}
	if p.Status.HotNodes != 1 || p.Status.ColdNodes != 0 {
		t.Fatalf("hot %d cold %d, want 1 and 0", p.Status.HotNodes, p.Status.ColdNodes)
	}
	s.eventually("candidates counted as DestinationNotCold", func() bool {
		return testutil.ToFloat64(ev.metrics.SkippedCandidates.WithLabelValues(string(planner.ReasonDestinationNotCold))) > 0
	})
	s.waitCycle(time.Now())
	if n := s.evictedCount("web-a", "web-b"); n != 0 {
		t.Fatalf("%d pods evicted with no cold node under destinations Cold", n)
	}

	// Allow normal nodes: a pod moves.
	var fresh v1alpha1.RebalancePolicy
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(s.policy), &fresh); err != nil {
		t.Fatal(err)
	}
	fresh.Spec.Destinations = ptr.To(v1alpha1.DestinationsNotHot)
	if err := env.Client.Update(context.Background(), &fresh); err != nil {
		t.Fatal(err)
	}
	s.eventually("an eviction under destinations NotHot", func() bool { return s.evictedCount("web-a", "web-b") > 0 })
}
