package evictor

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tinorodney/rebalancer/evictor/planner"
	tu "github.com/tinorodney/rebalancer/pkg/testutil"
)

// TestReplacementNode: the replacement of an eviction is the first pod of the workload created
// after it, not a later one that replaced a later eviction of the same workload.
func TestReplacementNode(t *testing.T) {
	at := tu.Epoch.Add(time.Hour)
	pod := func(name, node string, created time.Time) *corev1.Pod {
		return tu.Pod(name).Namespace("prod").Node(node).OwnedBy("ReplicaSet", "web").Created(created).Obj()
	}
	cl := &cluster{snap: planner.Snapshot{Pods: planner.NewPods([]*corev1.Pod{
		pod("web-old", "n1", tu.Epoch),
		pod("web-later", "n4", at.Add(2*time.Minute)),
		pod("web-first", "n3", at.Add(10*time.Second)),
		tu.Pod("other").Namespace("prod").Node("n9").OwnedBy("ReplicaSet", "api").Created(at.Add(5 * time.Second)).Obj(),
	})}}
	f := followed{At: at, Move: planner.Move{Pod: planner.PodRef{Namespace: "prod", Name: "web-evicted"},
		Workload: planner.WorkloadKey{Namespace: "prod", Kind: "ReplicaSet", Name: "web"}, From: "n1"}}
	if got := replacementNode(cl, f); got != "n3" {
		t.Errorf("replacement on %q, want n3 (the first pod after the eviction)", got)
	}
	f.At = at.Add(time.Hour)
	if got := replacementNode(cl, f); got != "" {
		t.Errorf("no pod after the eviction, got %q", got)
	}
}
