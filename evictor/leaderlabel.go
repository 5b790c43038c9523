package evictor

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// LeaderLabelKey is the label the leading evictor puts on its own pod, with the value "true".
const LeaderLabelKey = v1alpha1.GroupName + "/leader"

// LeaderLabel keeps LeaderLabelKey on the evictor's own pod while, and only while, it leads.
// The dashboard's history and plan live in the leader's memory; a standby replica has none. The
// chart's dashboard Service selects the label, so the page always reaches the leader, whatever
// the replica count (the Patroni way of pointing a Service at the primary).
//
// It runs on every replica: it first removes the label (a container restarted in the same pod
// must not keep a label its previous process set), then waits for Elected and sets it. A
// replica stops leading only by exiting, and its pod leaves the Service's endpoints as it goes.
// A failed patch is retried, the wait doubling from Retry up to two minutes; a pod that does not
// exist is logged and left alone.
type LeaderLabel struct {
	Client  client.Client
	Pod     types.NamespacedName
	Elected <-chan struct{}
	// Retry is the first wait after a failed patch; 1s when zero.
	Retry time.Duration
}

// NeedLeaderElection is false: the label must come off on every replica.
func (l *LeaderLabel) NeedLeaderElection() bool { return false }

// Start removes the label, sets it once elected, and returns when ctx ends.
func (l *LeaderLabel) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithValues("pod", l.Pod.String())
	if !l.patch(ctx, false) {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case <-l.Elected:
	}
	if l.patch(ctx, true) {
		logger.Info("Labelled this pod as the leader", "label", LeaderLabelKey)
	}
	return nil
}

// patch sets (leader) or removes the label, retrying until it succeeds; false when it gave up
// (the pod does not exist, or ctx ended).
func (l *LeaderLabel) patch(ctx context.Context, leader bool) bool {
	logger := log.FromContext(ctx).WithValues("pod", l.Pod.String())
	value := "null"
	if leader {
		value = `"true"`
	}
	body := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, LeaderLabelKey, value))
	wait := l.Retry
	if wait <= 0 {
		wait = time.Second
	}
	for {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: l.Pod.Namespace, Name: l.Pod.Name}}
		err := l.Client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, body))
		switch {
		case err == nil:
			return true
		case apierrors.IsNotFound(err):
			logger.Error(err, "The evictor's own pod does not exist: the dashboard Service will not find the leader (check POD_NAME and POD_NAMESPACE)")
			return false
		}
		logger.Error(err, "Could not label the evictor's own pod; retrying", "leader", leader, "retryIn", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Minute)
	}
}
