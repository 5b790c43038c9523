package evictor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/evictor/planner"
)

// fakePods is a pod cache the test adds replacements to.
type fakePods struct {
	mu   sync.Mutex
	pods []*planner.Pod
}

func (f *fakePods) List() []*planner.Pod {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*planner.Pod(nil), f.pods...)
}

func (f *fakePods) OfWorkload(wk planner.WorkloadKey) ([]*planner.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*planner.Pod
	for _, p := range f.pods {
		if p.Workload() == wk {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePods) HasSynced() bool { return true }

func (f *fakePods) add(p *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pods = append(f.pods, planner.NewPod(p))
}

func (f *fakePods) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pods)
}

// replicaOf is a pod of ReplicaSet rs in namespace ns, bound to node ("" for none).
func replicaOf(ns, name, rs, node string, created time.Time) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: metav1.NewTime(created),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID("uid-" + rs), Controller: ptr.To(true)}}},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func moveOf(p *corev1.Pod, to string, steered bool) planner.Move {
	return planner.Move{
		Pod:      planner.PodRef{Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		Workload: planner.WorkloadKey{Namespace: p.Namespace, Kind: "ReplicaSet", Name: p.OwnerReferences[0].Name},
		From:     p.Spec.NodeName, To: to, Steered: steered,
	}
}

// replacingExecutor evicts every pod and, as a ReplicaSet and a scheduler would, binds a
// replacement on the move's To soon after (unless the move's pod is in never). It records, for each call,
// how many replacements were bound when it was made. With together > 0, each call returns only
// once that many calls are in flight at the same time (or after a few seconds, counted in
// alone): calls made one after another each end alone.
type replacingExecutor struct {
	pods     *fakePods
	never    map[string]bool
	together int

	mu          sync.Mutex
	calls       []string
	boundBefore []int
	arrived     int
	all         chan struct{}
	alone       int
}

func (e *replacingExecutor) Execute(_ context.Context, pod *corev1.Pod, m planner.Move) Result {
	e.mu.Lock()
	e.calls = append(e.calls, pod.Name)
	e.boundBefore = append(e.boundBefore, e.pods.len())
	if e.all == nil {
		e.all = make(chan struct{})
	}
	e.arrived++
	if e.arrived == e.together {
		close(e.all)
	}
	e.mu.Unlock()
	if e.together > 0 {
		select {
		case <-e.all:
		case <-time.After(3 * time.Second):
			e.mu.Lock()
			e.alone++
			e.mu.Unlock()
		}
	}
	if !e.never[pod.Name] {
		// The replacement is bound a little after the call returns, as a controller and a
		// scheduler bind it: a caller that does not wait evicts the next pod before.
		created := time.Now()
		time.AfterFunc(10*time.Millisecond, func() {
			e.pods.add(replicaOf(pod.Namespace, pod.Name+"-new", m.Workload.Name, m.To, created))
		})
	}
	return Result{Outcome: Evicted}
}

// TestCallEvictionsInPlanOrder: when a move of the cycle lands where its scheduler's scores send
// it, the eviction calls go in the plan's order, each after the previous replacement is bound.
func TestCallEvictionsInPlanOrder(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	cases := []struct {
		name    string
		steered []bool
		never   map[string]bool
		// wantBound[i] is how many replacements must be bound when call i is made; nil: the
		// calls go at once (all of them in flight together).
		wantBound []int
	}{
		{name: "default scheduler", steered: []bool{false, false, false}, wantBound: []int{0, 1, 2}},
		{name: "a steered move among them", steered: []bool{true, false, true}, wantBound: []int{0, 1, 2}},
		{name: "every move steered", steered: []bool{true, true, true}},
		{name: "one move", steered: []bool{false}, wantBound: []int{0}},
		{name: "a replacement that never comes", steered: []bool{false, false, false}, never: map[string]bool{"web-0": true}, wantBound: []int{0, 0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := &fakePods{}
			exec := &replacingExecutor{pods: pods, never: tc.never}
			if tc.wantBound == nil {
				exec.together = len(tc.steered)
			}
			// Long enough for any replacement that comes; the one that never comes costs it once.
			r := &Reconciler{Live: exec, Pods: pods, Clock: clock.RealClock{}, ReplacementWait: 2 * time.Second}
			var admitted []*pending
			var want []string
			for i, steered := range tc.steered {
				p := replicaOf("shop", fmt.Sprintf("web-%d", i), fmt.Sprintf("web-%d", i%2), "hot-1", old)
				admitted = append(admitted, &pending{move: moveOf(p, fmt.Sprintf("cold-%d", i), steered), pod: p})
				want = append(want, p.Name)
			}
			r.callEvictions(context.Background(), admitted)
			for i, pm := range admitted {
				if pm.result.Outcome != Evicted {
					t.Errorf("move %d: outcome %v, want Evicted", i, pm.result.Outcome)
				}
			}
			if len(exec.calls) != len(want) {
				t.Fatalf("%d eviction calls, want %d", len(exec.calls), len(want))
			}
			if tc.wantBound == nil {
				if exec.alone > 0 {
					t.Errorf("%d of %d calls were not in flight together, want the calls made at once", exec.alone, len(exec.calls))
				}
				return
			}
			if fmt.Sprint(exec.calls) != fmt.Sprint(want) {
				t.Errorf("calls %v, want the plan's order %v", exec.calls, want)
			}
			if fmt.Sprint(exec.boundBefore) != fmt.Sprint(tc.wantBound) {
				t.Errorf("replacements bound before each call %v, want %v", exec.boundBefore, tc.wantBound)
			}
		})
	}
}

// TestMayReplace: the replacement of a move is a pod of its workload, bound, created since the
// eviction, neither the evicted pod nor one an earlier move claimed.
func TestMayReplace(t *testing.T) {
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	evicted := replicaOf("shop", "web-0", "web", "hot-1", at.Add(-time.Hour))
	m := moveOf(evicted, "cold-1", false)
	cases := []struct {
		name    string
		pod     *corev1.Pod
		claimed bool
		want    bool
	}{
		{name: "the replacement", pod: replicaOf("shop", "web-new", "web", "cold-1", at), want: true},
		{name: "bound elsewhere than predicted", pod: replicaOf("shop", "web-new", "web", "cold-2", at), want: true},
		{name: "created within the second before", pod: replicaOf("shop", "web-new", "web", "cold-1", at.Add(-time.Second)), want: true},
		{name: "not bound yet", pod: replicaOf("shop", "web-new", "web", "", at)},
		{name: "created before the eviction", pod: replicaOf("shop", "web-new", "web", "cold-1", at.Add(-2*time.Second))},
		{name: "another workload", pod: replicaOf("shop", "api-new", "api", "cold-1", at)},
		{name: "another namespace", pod: replicaOf("staging", "web-new", "web", "cold-1", at)},
		{name: "claimed by an earlier move", pod: replicaOf("shop", "web-new", "web", "cold-1", at), claimed: true},
		{name: "the evicted pod itself", pod: replicaOf("shop", "web-0", "web", "hot-1", at)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claimed := map[types.UID]bool{}
			if tc.claimed {
				claimed[tc.pod.UID] = true
			}
			if got := mayReplace(planner.NewPod(tc.pod), m, at, claimed); got != tc.want {
				t.Errorf("mayReplace = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAwaitReplacement: the wait finds the evicted pod's replacement among its workload's pods
// in the cache and claims it; it finds none in another workload's or an already claimed pod,
// and does not look when the wait is off.
func TestAwaitReplacement(t *testing.T) {
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	evicted := replicaOf("shop", "web-0", "web", "hot-1", at.Add(-time.Hour))
	m := moveOf(evicted, "cold-1", false)
	replacement := replicaOf("shop", "web-new", "web", "cold-1", at)
	cases := []struct {
		name    string
		cached  []*corev1.Pod
		claimed bool
		wait    time.Duration
		want    bool
	}{
		{name: "bound replacement", cached: []*corev1.Pod{evicted, replicaOf("shop", "api-new", "api", "cold-1", at), replacement}, wait: time.Second, want: true},
		{name: "only another workload's new pod", cached: []*corev1.Pod{evicted, replicaOf("shop", "api-new", "api", "cold-1", at)}, wait: 50 * time.Millisecond},
		{name: "replacement claimed by an earlier move", cached: []*corev1.Pod{replacement}, claimed: true, wait: 50 * time.Millisecond},
		{name: "wait off", cached: []*corev1.Pod{replacement}, wait: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := &fakePods{}
			for _, p := range tc.cached {
				pods.add(p)
			}
			claimed := map[types.UID]bool{}
			if tc.claimed {
				claimed[replacement.UID] = true
			}
			r := &Reconciler{Pods: pods, Clock: clock.RealClock{}, ReplacementWait: tc.wait}
			if got := r.awaitReplacement(context.Background(), m, at, claimed); got != tc.want {
				t.Errorf("awaitReplacement = %v, want %v", got, tc.want)
			}
			if got := len(claimed) > 0 && !tc.claimed; got != tc.want {
				t.Errorf("replacement claimed: %v, want %v (claimed %v)", got, tc.want, claimed)
			}
		})
	}
}
