package placement_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/pkg/placement"
)

// TestNumFeasibleNodesToFindMatchesKubeScheduler checks NumFeasibleNodesToFind, our copy of
// kube-scheduler's unexported numFeasibleNodesToFind, against kube-scheduler itself: a real
// Scheduler (scheduler.New, the default profile) schedules one pod over a cluster where every
// node fits it, and its ScheduleResult.FeasibleNodes is how many feasible nodes it looked for
// before it stopped filtering.
func TestNumFeasibleNodesToFindMatchesKubeScheduler(t *testing.T) {
	for _, size := range []int{50, 100, 150, 1000, 5000} {
		nodes := make([]*corev1.Node, size)
		for i := range nodes {
			nodes[i] = &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%05d", i), Labels: map[string]string{corev1.LabelHostname: fmt.Sprintf("node-%05d", i)}},
				Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110"),
				}},
			}
		}
		for _, pct := range []*int32{nil, ptr.To[int32](30), ptr.To[int32](100)} {
			name := fmt.Sprintf("%d nodes, percentageOfNodesToScore %v", size, "unset")
			if pct != nil {
				name = fmt.Sprintf("%d nodes, percentageOfNodesToScore %d", size, *pct)
			}
			t.Run(name, func(t *testing.T) {
				got := upstreamFeasibleNodes(t, nodes, pct)
				if want := placement.NumFeasibleNodesToFind(pct, size); got != want {
					t.Errorf("kube-scheduler looked for %d feasible nodes, NumFeasibleNodesToFind says %d", got, want)
				}
			})
		}
	}
}

// upstreamFeasibleNodes schedules one small pod with kube-scheduler's default profile over nodes
// and returns ScheduleResult.FeasibleNodes.
func upstreamFeasibleNodes(t *testing.T, nodes []*corev1.Node, pct *int32) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	recorders := profile.NewRecorderFactory(events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()}))
	sched, err := scheduler.New(ctx, client, factory, nil, recorders,
		scheduler.WithNodeInfoSnapshot(cache.NewSnapshot(nil, nodes)), scheduler.WithPercentageOfNodesToScore(pct))
	if err != nil {
		t.Fatal(err)
	}
	fw := sched.Profiles[corev1.DefaultSchedulerName]
	if fw == nil {
		t.Fatal("no default profile")
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "probe", UID: "probe"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "probe",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
	}
	info, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sched.SchedulePod(ctx, fw, framework.NewCycleState(), &framework.QueuedPodInfo{PodInfo: info})
	if err != nil {
		t.Fatal(err)
	}
	return res.FeasibleNodes
}
