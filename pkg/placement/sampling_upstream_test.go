package placement_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/testutil"
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
			nodes[i] = testutil.Node(fmt.Sprintf("node-%05d", i)).Obj()
		}
		for _, pct := range []*int32{nil, ptr.To[int32](30), ptr.To[int32](100)} {
			name := fmt.Sprintf("%d nodes, percentageOfNodesToScore unset", size)
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
	return newUpstream(ctx, t, nodes, nil, pct).schedule(ctx, t, probePod("probe")).FeasibleNodes
}

// upstream is a real kube-scheduler (scheduler.New, the default profile) over a fixed snapshot.
type upstream struct {
	sched *scheduler.Scheduler
}

func newUpstream(ctx context.Context, t *testing.T, nodes []*corev1.Node, pods []*corev1.Pod, pct *int32) *upstream {
	t.Helper()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	recorders := profile.NewRecorderFactory(events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()}))
	sched, err := scheduler.New(ctx, client, factory, nil, recorders,
		scheduler.WithNodeInfoSnapshot(cache.NewSnapshot(pods, nodes)), scheduler.WithPercentageOfNodesToScore(pct))
	if err != nil {
		t.Fatal(err)
	}
	return &upstream{sched: sched}
}

// schedule runs kube-scheduler's schedulePod for pod: filter (from where the last call stopped,
// as kube-scheduler does), score, pick. Nothing is bound or assumed.
func (u *upstream) schedule(ctx context.Context, t *testing.T, pod *corev1.Pod) scheduler.ScheduleResult {
	t.Helper()
	fw := u.sched.Profiles[corev1.DefaultSchedulerName]
	if fw == nil {
		t.Fatal("no default profile")
	}
	info, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.sched.SchedulePod(ctx, fw, framework.NewCycleState(), &framework.QueuedPodInfo{PodInfo: info})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// probePod is a pending pod of 100m CPU.
func probePod(name string) *corev1.Pod { return testutil.Pod(name).CPU("100m").Obj() }

// TestMissChanceAgainstKubeScheduler compares Prediction.MissChance, the chance that a sampling
// scheduler picks an unacceptable node modelled as the best of a random sample, with what a real
// kube-scheduler picks: in random clusters of 300 nodes (it looks for 144 feasible nodes, each
// cycle from where the last one stopped), with nodes of random load and a random fifth of them
// unacceptable, the same pod is scheduled 300 times and the share of picks on unacceptable nodes
// is set against MissChance. kube-scheduler's windows are contiguous in its node order, not
// random samples, so a single cluster can be off; over random clusters the two agree on average.
// Every pick must be in the predicted Possible set.
func TestMissChanceAgainstKubeScheduler(t *testing.T) {
	const clusters, size, picks = 40, 300, 300
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := defaultEngine(t)
	var model, seen float64
	for c := range clusters {
		rng := rand.New(rand.NewPCG(uint64(c), 7))
		var nodes []*corev1.Node
		var pods []*corev1.Pod
		bad := map[string]bool{}
		for i := range size {
			n := testutil.Node(fmt.Sprintf("node-%03d", i)).Obj()
			nodes = append(nodes, n)
			pods = append(pods, testutil.Pod(fmt.Sprintf("load-%d-%s", c, n.Name)).Namespace("x").Node(n.Name).CPU(fmt.Sprintf("%dm", 10*rng.IntN(300))).Memory("64Mi").Obj())
			bad[n.Name] = rng.IntN(5) == 0
		}
		ok := func(n string) bool { return !bad[n] }
		sess, err := e.Open(nodes, placement.APIPods(pods), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Pods are new to the engine in each cluster: it caches them by UID.
		pred, err := sess.Predict(ctx, probePod(fmt.Sprintf("probe-%d", c)))
		sess.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !pred.Sampled || pred.ToScore != 144 {
			t.Fatalf("cluster %d: sampled %v, to score %d; want a sample of 144", c, pred.Sampled, pred.ToScore)
		}
		up := newUpstream(ctx, t, nodes, pods, nil)
		missed := 0
		for i := range picks {
			res := up.schedule(ctx, t, probePod(fmt.Sprintf("probe-%d-%d", c, i)))
			if !pred.Lands(res.SuggestedHost) {
				t.Errorf("cluster %d: kube-scheduler picked %s, outside the predicted Possible set", c, res.SuggestedHost)
			}
			if !ok(res.SuggestedHost) {
				missed++
			}
		}
		m := pred.MissChance(ok)
		model += m
		seen += float64(missed) / picks
		t.Logf("cluster %d: MissChance %.3f, kube-scheduler picked an unacceptable node in %d of %d cycles (%.3f)", c, m, missed, picks, float64(missed)/picks)
	}
	model, seen = model/clusters, seen/clusters
	t.Logf("over %d clusters: MissChance %.3f on average, kube-scheduler %.3f", clusters, model, seen)
	if math.Abs(model-seen) > 0.05 {
		t.Errorf("MissChance %.3f on average, kube-scheduler missed in %.3f of its picks: the model is off", model, seen)
	}
}
