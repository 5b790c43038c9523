package evictor_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tinorodney/rebalancer/evictor"
)

// TestLeaderLabel: a label left by an earlier process comes off at start; the label goes on only
// once elected, and other labels stay.
func TestLeaderLabel(t *testing.T) {
	key := types.NamespacedName{Namespace: "rebalancer-system", Name: "evictor-abc"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
		Labels: map[string]string{"app": "evictor", evictor.LeaderLabelKey: "true"}}}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(pod).Build()
	elected := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&evictor.LeaderLabel{Client: c, Pod: key, Elected: elected, Retry: time.Millisecond}).Start(ctx)
	}()
	labels := func() map[string]string {
		var p corev1.Pod
		if err := c.Get(context.Background(), key, &p); err != nil {
			t.Fatal(err)
		}
		return p.Labels
	}
	waitFor := func(what string, ok func(map[string]string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(labels()); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: labels %v", what, labels())
			}
		}
	}
	waitFor("the stale leader label removed", func(l map[string]string) bool { _, ok := l[evictor.LeaderLabelKey]; return !ok })
	close(elected)
	waitFor("the leader label set", func(l map[string]string) bool { return l[evictor.LeaderLabelKey] == "true" })
	if l := labels(); l["app"] != "evictor" {
		t.Errorf("labels %v: the pod's own labels must stay", l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start returned %v", err)
	}
}

// TestLeaderLabelNoPod: a pod that does not exist is given up on, not retried for ever.
func TestLeaderLabelNoPod(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).Build()
	l := &evictor.LeaderLabel{Client: c, Pod: types.NamespacedName{Namespace: "x", Name: "gone"}, Elected: make(chan struct{}), Retry: time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- l.Start(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start still running for a pod that does not exist")
	}
}
