package nodeclassfit

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// x86-1 (4 cores, 8Gi) was read 10s ago at 1000m and 2Gi. A cpu-bound pod asking 1 core and
// 2Gi scores (see TestScore)
//
//	empty of placed pods:  projected 0.5  -> raw 0.66 -> 69
//	one such pod placed:   projected ((2000+1000)/4000 + (4+2)/8)/2 = 0.75 -> raw 0.51 -> 56
//	two placed:            projected ((3000+1000)/4000 + (6+2)/8)/2 = 1    -> raw 0.36 -> 42
func TestLagCompensation(t *testing.T) {
	n := node("x86-1", "amd64")
	reading := func(age time.Duration) usage.Readings {
		return usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(1000, 2, age)}}
	}
	newPod := func(name string) *corev1.Pod { return pod(name, "1", "2Gi", "cpu-bound") }
	type step struct {
		do   func(p *testPlugin)
		want int64
	}
	reserve := func(name string) func(*testPlugin) {
		return func(p *testPlugin) { p.Reserve(context.Background(), nil, newPod(name), "x86-1") }
	}
	unreserve := func(name string) func(*testPlugin) {
		return func(p *testPlugin) { p.Unreserve(context.Background(), nil, newPod(name), "x86-1") }
	}
	bound := func(name string, started time.Time) func(*testPlugin) {
		return func(p *testPlugin) {
			x := on(newPod(name), "x86-1")
			if !started.IsZero() {
				x = startedAt(x, started)
			}
			p.lag.observe(x)
		}
	}
	// newReading publishes a snapshot with a reading taken at now - age.
	newReading := func(age time.Duration) func(*testPlugin) {
		return func(p *testPlugin) {
			p.publish(&buildInput{nodes: []*corev1.Node{n}, classes: []*v1alpha1.NodeClass{x86Class()}, readings: reading(age)})
		}
	}
	deleted := func(name string) func(*testPlugin) { return func(p *testPlugin) { p.lag.remove(newPod(name).UID) } }
	finished := func(name string) func(*testPlugin) {
		return func(p *testPlugin) {
			x := on(newPod(name), "x86-1")
			x.Status.Phase = corev1.PodSucceeded
			p.lag.observe(x)
		}
	}

	tests := []struct {
		name  string
		steps []step
	}{
		{name: "a reserved pod counts at its requests at once", steps: []step{
			{do: reserve("a"), want: 56},
			{do: reserve("b"), want: 42},
		}},
		{name: "Unreserve takes it back", steps: []step{
			{do: reserve("a"), want: 56},
			{do: unreserve("a"), want: 69},
		}},
		{name: "Unreserve after the informer saw the pod bound changes nothing", steps: []step{
			{do: reserve("a"), want: 56},
			{do: bound("a", time.Time{}), want: 56},
			{do: unreserve("a"), want: 56},
		}},
		{name: "a pod bound by another scheduler counts too", steps: []step{
			{do: bound("a", time.Time{}), want: 56},
		}},
		{name: "a pod that started after the reading counts until a reading after its start", steps: []step{
			{do: bound("a", now.Add(-5*time.Second)), want: 56},
			{do: newReading(8 * time.Second), want: 56}, // read before it started: still lagging
			{do: newReading(time.Second), want: 69},     // read after it started: covered
		}},
		{name: "a pod not started yet counts whatever the reading's age", steps: []step{
			{do: reserve("a"), want: 56},
			{do: newReading(0), want: 56},
		}},
		{name: "a pod that started before the reading is covered at once", steps: []step{
			{do: bound("a", now.Add(-time.Minute)), want: 69},
		}},
		{name: "a deleted pod stops counting", steps: []step{
			{do: reserve("a"), want: 56},
			{do: deleted("a"), want: 69},
		}},
		{name: "a finished pod stops counting", steps: []step{
			{do: bound("a", time.Time{}), want: 56},
			{do: finished("a"), want: 69},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			newReading(10 * time.Second)(p)
			if got := p.scores(t, newPod("probe"), []fwk.NodeInfo{nodeInfo(n)})["x86-1"]; got != 69 {
				t.Fatalf("score before any placement = %d, want 69", got)
			}
			for i, s := range tc.steps {
				s.do(p)
				if got := p.scores(t, newPod("probe"), []fwk.NodeInfo{nodeInfo(n)})["x86-1"]; got != s.want {
					t.Errorf("after step %d: score = %d, want %d", i, got, s.want)
				}
			}
		})
	}
}

// Eight replacements of evicted pods arrive at once. Two cold nodes look alike in the last
// reading; without lag compensation every pod would pick the same one. Each scheduling cycle
// picks the best node and reserves it, as the framework does.
func TestBurstSpreadsOverColdNodes(t *testing.T) {
	nodes := []*corev1.Node{node("cold-a", "amd64"), node("cold-b", "amd64")}
	p := newTestPlugin(t)
	p.publish(&buildInput{
		nodes: nodes, classes: []*v1alpha1.NodeClass{x86Class()},
		readings: usage.Readings{Nodes: map[string]usage.Sample{"cold-a": sample(400, 1, 5*time.Second), "cold-b": sample(450, 1, 5*time.Second)}},
	})
	got := map[string]int{}
	for i := 0; i < 8; i++ {
		x := pod("burst-"+string(rune('a'+i)), "250m", "512Mi", "cpu-bound")
		best := argmax(p.scores(t, x, []fwk.NodeInfo{nodeInfo(nodes[0]), nodeInfo(nodes[1])}))
		if s := p.Reserve(context.Background(), framework.NewCycleState(), x, best); !s.IsSuccess() {
			t.Fatal(s)
		}
		got[best]++
	}
	if diff := cmp.Diff(map[string]int{"cold-a": 4, "cold-b": 4}, got); diff != "" {
		t.Errorf("placements (-want,+got):\n%s", diff)
	}
}

func TestLagTrackerForgetsCoveredPods(t *testing.T) {
	p := newTestPlugin(t)
	n := node("x86-1", "amd64")
	for i, started := range []time.Time{now.Add(-time.Hour), now.Add(-time.Second), {}} {
		p.lag.observe(startedOrNot(on(pod("p"+string(rune('0'+i)), "1", "1Gi", ""), "x86-1"), started))
	}
	if got := p.lag.len(); got != 3 {
		t.Fatalf("before any snapshot the tracker holds %d pods, want 3", got)
	}
	p.publish(&buildInput{nodes: []*corev1.Node{n}, readings: usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(0, 0, 10*time.Second)}}})
	// The pod started an hour ago is covered by the reading; the others are not.
	if got := p.lag.len(); got != 2 {
		t.Errorf("after a reading the tracker holds %d pods, want 2", got)
	}
}

func startedOrNot(p *corev1.Pod, t time.Time) *corev1.Pod {
	if t.IsZero() {
		return p
	}
	return startedAt(p, t)
}
