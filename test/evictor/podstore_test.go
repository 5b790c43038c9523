package evictor_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tinorodney/rebalancer/evictor"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// TestPodStore: the evictor's compact pod cache lists and watches the real API server in
// protobuf, holds planner.Pods indexed by node, sees status changes and deletions, and shares one
// shape among the replicas of a workload.
func TestPodStore(t *testing.T) {
	s := newScenario(t)
	n1, n2 := s.node("n1", 100, 1), s.node("n2", 100, 1)
	s.pod("web-0", n1, "web", 200, 256, replicaSet("web"), optIn)
	s.pod("web-1", n2, "web", 200, 256, replicaSet("web"), optIn)

	store, err := evictor.NewPodStoreForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- store.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pod store: %v", err)
		}
	})

	mine := func() map[string]*planner.Pod {
		out := map[string]*planner.Pod{}
		for _, p := range store.List() {
			if p.Namespace == s.ns {
				out[p.Name] = p
			}
		}
		return out
	}
	s.eventually("the pod store to sync with both pods", func() bool { return store.HasSynced() && len(mine()) == 2 })
	pods := mine()
	w0, w1 := pods["web-0"], pods["web-1"]
	if w0.NodeName != n1 || !w0.Ready || w0.Phase != corev1.PodRunning || w0.Requests.MilliCPU != 200 || w0.Requests.Memory != 256<<20 {
		t.Errorf("web-0 cached as %+v", *w0)
	}
	if w0.Shape != w1.Shape {
		t.Error("the replicas of one ReplicaSet do not share a shape")
	}
	onN2, err := store.OnNode(n2)
	if err != nil || len(onN2) != 1 || onN2[0].Name != "web-1" {
		t.Errorf("pods on %s: %v (%v), want web-1", n2, onN2, err)
	}

	// A status change reaches the cache.
	var p corev1.Pod
	if err := env.Client.Get(ctx, w0.Key(), &p); err != nil {
		t.Fatal(err)
	}
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	if err := env.Client.Status().Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
	s.eventually("web-0 not Ready in the cache", func() bool { q := mine()["web-0"]; return q != nil && !q.Ready })

	// A deletion leaves the cache and the index.
	if err := env.Client.Delete(ctx, &p, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	s.eventually("web-0 gone from the cache", func() bool { return mine()["web-0"] == nil })
	if onN1, _ := store.OnNode(n1); len(onN1) != 0 {
		t.Errorf("pods still indexed on %s: %v", n1, onN1)
	}
}
