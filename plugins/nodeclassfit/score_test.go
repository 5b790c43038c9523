package nodeclassfit

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// Every node below has 4 cores and 8Gi allocatable. x86 (weight 60, capacityFactor 1) prefers
// cpu-bound pods, rpi4 (weight 40, capacityFactor 0.5) memory-bound ones. Placement weights are
// the defaults H=60, C=10, P=30 (sum 100); CPU and memory weigh 0.5 each, so
//
//	projected = (u_cpu + u_mem) / 2
//	raw       = (60 x (1 - projected) + 10 x classWeight + 30 x profileMatch) / 100
//	score     = 10 + round(90 x raw), or round(9 x raw) for a hot node,
//	            or min(100, that + 25) for a cold node (pkg/scoring's ColdBonus)
func TestScore(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		nodes    []*corev1.Node
		nodePods map[string][]*corev1.Pod
		readings usage.Readings
		podsByNN map[types.NamespacedName]*corev1.Pod
		policy   *v1alpha1.RebalancePolicy
		want     map[string]int64
	}{
		{
			name:  "x86 node with a reading, cpu-bound pod",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("x86-1", "amd64")},
			// projected = ((1000+1000)/4000 + (2+2)/8) / 2 = 0.5
			// raw = (60 x 0.5 + 10 x 0.6 + 30 x 1) / 100 = 0.66 -> 10 + round(59.4) = 69
			readings: usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(1000, 2, 10*time.Second)}},
			want:     map[string]int64{"x86-1": 69},
		},
		{
			name:  "Raspberry Pi counts CPU in reference cores, and prefers other profiles",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("rpi-1", "arm64")},
			// capacity = 4000m x 0.5 = 2000 reference m; reading 500m x 0.5 = 250 reference m
			// projected = ((250+1000)/2000 + (2+2)/8) / 2 = (0.625 + 0.5) / 2 = 0.5625
			// raw = (60 x 0.4375 + 10 x 0.4 + 30 x 0) / 100 = 0.3025 -> 10 + round(27.225) = 37
			readings: usage.Readings{Nodes: map[string]usage.Sample{"rpi-1": sample(500, 2, 10*time.Second)}},
			want:     map[string]int64{"rpi-1": 37},
		},
		{
			name:  "node of no class: class weight 1/2, profile match 1/2",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("plain-1", "")},
			// projected = ((2000+1000)/4000 + (3+2)/8) / 2 = (0.75 + 0.625) / 2 = 0.6875
			// raw = (60 x 0.3125 + 10 x 0.5 + 30 x 0.5) / 100 = 0.3875 -> 10 + round(34.875) = 45
			readings: usage.Readings{Nodes: map[string]usage.Sample{"plain-1": sample(2000, 3, 10*time.Second)}},
			want:     map[string]int64{"plain-1": 45},
		},
		{
			name:  "hot node named in the evictor's fresh status scores in the hot band",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("x86-1", "amd64"), node("x86-2", "amd64")},
			// both raw = 0.66 as in the first case; x86-2 is hot: round(9 x 0.66) = round(5.94) = 6
			readings: usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(1000, 2, 10*time.Second), "x86-2": sample(1000, 2, 10*time.Second)}},
			policy:   rebalancePolicy(now.Add(-time.Minute), "x86-2"),
			want:     map[string]int64{"x86-1": 69, "x86-2": 6},
		},
		{
			name:  "cold node named in the evictor's fresh status gets the cold bonus",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("x86-1", "amd64"), node("x86-2", "amd64")},
			// both raw = 0.66 -> 69; x86-2 is cold: min(100, 69 + 25) = 94
			readings: usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(1000, 2, 10*time.Second), "x86-2": sample(1000, 2, 10*time.Second)}},
			policy: func() *v1alpha1.RebalancePolicy {
				p := rebalancePolicy(now.Add(-time.Minute))
				p.Status.ColdNodeNames = []string{"x86-2"}
				return p
			}(),
			want: map[string]int64{"x86-1": 69, "x86-2": 94},
		},
		{
			name:  "no reading: the requests the scheduler has on the node count instead",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("x86-1", "amd64")},
			// usage = requests on the node = 2000m, 4Gi
			// projected = ((2000+1000)/4000 + (4+2)/8) / 2 = 0.75
			// raw = (60 x 0.25 + 10 x 0.6 + 30 x 1) / 100 = 0.51 -> 10 + round(45.9) = 56
			nodePods: map[string][]*corev1.Pod{"x86-1": {on(pod("running", "2", "4Gi", ""), "x86-1")}},
			want:     map[string]int64{"x86-1": 56},
		},
		{
			name:  "stale reading (older than staleAfter, 3m) counts as none",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: []*corev1.Node{node("x86-1", "amd64")},
			// as above: the 0-usage reading is 4m old and ignored -> 56
			nodePods: map[string][]*corev1.Pod{"x86-1": {on(pod("running", "2", "4Gi", ""), "x86-1")}},
			readings: usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(0, 0, 4*time.Minute)}},
			want:     map[string]int64{"x86-1": 56},
		},
		{
			name:  "the pod's controller's measured usage replaces its requests",
			pod:   ownedBy(pod("web-new", "2", "2Gi", "cpu-bound"), "web"),
			nodes: []*corev1.Node{node("x86-1", "amd64"), node("rpi-1", "arm64")},
			// web-old uses 400m on a Pi: 400 x 0.5 = 200 reference m, and 2Gi.
			// x86-1: projected = ((1000+200)/4000 + (2+2)/8) / 2 = (0.3 + 0.5) / 2 = 0.4
			//        raw = (60 x 0.6 + 10 x 0.6 + 30 x 1) / 100 = 0.72 -> 10 + round(64.8) = 75
			// rpi-1: reading 500m (250 ref m) includes web-old:
			//        projected = ((250+200)/2000 + (2+2)/8) / 2 = (0.225 + 0.5) / 2 = 0.3625
			//        raw = (60 x 0.6375 + 10 x 0.4 + 30 x 0) / 100 = 0.4225 -> 10 + round(38.025) = 48
			readings: usage.Readings{
				Nodes: map[string]usage.Sample{"x86-1": sample(1000, 2, 10*time.Second), "rpi-1": sample(500, 2, 10*time.Second)},
				Pods:  map[types.NamespacedName]usage.Sample{{Namespace: "default", Name: "web-old"}: sample(400, 2, 10*time.Second)},
			},
			podsByNN: map[types.NamespacedName]*corev1.Pod{
				{Namespace: "default", Name: "web-old"}: on(ownedBy(pod("web-old", "2", "2Gi", "cpu-bound"), "web"), "rpi-1"),
			},
			want: map[string]int64{"x86-1": 75, "rpi-1": 48},
		},
		{
			name:  "a node the snapshot does not know yet: its own allocatable and requests, no class",
			pod:   pod("p", "1", "2Gi", "cpu-bound"),
			nodes: nil,
			// projected = ((1000+1000)/4000 + (2+2)/8) / 2 = 0.5
			// raw = (60 x 0.5 + 10 x 0.5 + 30 x 0.5) / 100 = 0.5 -> 10 + 45 = 55
			nodePods: map[string][]*corev1.Pod{"new-1": {on(pod("running", "1", "2Gi", ""), "new-1")}},
			want:     map[string]int64{"new-1": 55},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			in := &buildInput{nodes: tc.nodes, classes: []*v1alpha1.NodeClass{x86Class(), rpiClass()}, policy: tc.policy, readings: tc.readings}
			if tc.podsByNN != nil {
				in.pod = func(k types.NamespacedName) *corev1.Pod { return tc.podsByNN[k] }
			}
			p.publish(in)
			var infos []fwk.NodeInfo
			for _, n := range tc.nodes {
				infos = append(infos, nodeInfo(n, tc.nodePods[n.Name]...))
			}
			if tc.nodes == nil {
				infos = append(infos, nodeInfo(node("new-1", "amd64"), tc.nodePods["new-1"]...))
			}
			if diff := cmp.Diff(tc.want, p.scores(t, tc.pod, infos)); diff != "" {
				t.Errorf("scores (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestPodProfile(t *testing.T) {
	tests := []struct {
		name        string
		label       *string
		annotation  string
		wantProfile scoring.Profile
	}{
		{name: "label", label: ptrTo("cpu-bound"), wantProfile: scoring.ProfileCPUBound},
		{name: "annotation when no label", annotation: "memory-bound", wantProfile: scoring.ProfileMemoryBound},
		{name: "label wins over annotation", label: ptrTo("balanced"), annotation: "memory-bound", wantProfile: scoring.ProfileBalanced},
		{name: "an empty label still wins, and states nothing", label: ptrTo(""), annotation: "memory-bound", wantProfile: scoring.ProfileNone},
		{name: "unknown profile states nothing", label: ptrTo("gpu-bound"), wantProfile: scoring.ProfileNone},
		{name: "none", wantProfile: scoring.ProfileNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pod("p", "1", "1Gi", "")
			p.Labels = map[string]string{}
			if tc.label != nil {
				p.Labels[v1alpha1.ProfileKey] = *tc.label
			}
			if tc.annotation != "" {
				p.Annotations = map[string]string{v1alpha1.ProfileKey: tc.annotation}
			}
			if got := placement.PodProfile(p); got != tc.wantProfile {
				t.Errorf("PodProfile = %v, want %v", got, tc.wantProfile)
			}
		})
	}
}

func ptrTo(s string) *string { return &s }

// Two nodes in the same state, one of each class: the profile decides. Each pod's score on its
// preferred class is 30 x (1 - 0) / 100 x 90 = 27 points above its score on the other, less the
// class weight's (60 - 40) / 100 x 10 / 100 x 90 = 1.8 points that favour x86.
func TestProfileMatching(t *testing.T) {
	nodes := []*corev1.Node{node("x86-1", "amd64"), node("rpi-1", "arm64")}
	// Equal utilisation in reference units: the Pi's 2000 reference m are 40% used like the x86's 4000.
	readings := usage.Readings{Nodes: map[string]usage.Sample{"x86-1": sample(1600, 2, 0), "rpi-1": sample(1600, 2, 0)}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{name: "cpu-bound pod prefers x86", pod: pod("p", "100m", "100Mi", "cpu-bound"), want: "x86-1"},
		{name: "memory-bound pod prefers the Pi", pod: pod("p", "100m", "100Mi", "memory-bound"), want: "rpi-1"},
		{name: "memory-bound by annotation too", pod: func() *corev1.Pod {
			p := pod("p", "100m", "100Mi", "")
			p.Annotations = map[string]string{v1alpha1.ProfileKey: "memory-bound"}
			return p
		}(), want: "rpi-1"},
		{name: "no profile: the class weight decides", pod: pod("p", "100m", "100Mi", ""), want: "x86-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			p.publish(&buildInput{nodes: nodes, classes: []*v1alpha1.NodeClass{x86Class(), rpiClass()}, readings: readings})
			got := p.scores(t, tc.pod, []fwk.NodeInfo{nodeInfo(nodes[0]), nodeInfo(nodes[1])})
			if best := argmax(got); best != tc.want {
				t.Errorf("best node = %s, want %s (scores %v)", best, tc.want, got)
			}
		})
	}
}

func argmax(scores map[string]int64) string {
	best, bestScore := "", int64(-1)
	for n, s := range scores {
		if s > bestScore || (s == bestScore && n < best) {
			best, bestScore = n, s
		}
	}
	return best
}

// The evictor evicted web-0 from x86-hot, which its status names hot. x86-hot is otherwise the
// best node for the replacement: the emptiest, of the class that prefers cpu-bound pods. It must
// score lowest, before and after normalization.
func TestHotNodeScoresLowestForThePodEvictedFromIt(t *testing.T) {
	nodes := []*corev1.Node{node("x86-hot", "amd64"), node("x86-busy", "amd64"), node("rpi-1", "arm64"), node("rpi-2", "arm64")}
	web0 := on(ownedBy(pod("web-0", "1", "1Gi", "cpu-bound"), "web"), "x86-hot")
	readings := usage.Readings{
		Nodes: map[string]usage.Sample{
			"x86-hot": sample(500, 1, 20*time.Second), "x86-busy": sample(3000, 6, 20*time.Second),
			"rpi-1": sample(3000, 6, 20*time.Second), "rpi-2": sample(2500, 5, 20*time.Second),
		},
		Pods: map[types.NamespacedName]usage.Sample{{Namespace: "default", Name: "web-0"}: sample(400, 0.5, 20*time.Second)},
	}
	replacement := ownedBy(pod("web-1", "1", "1Gi", "cpu-bound"), "web")
	for _, tc := range []struct {
		name    string
		policy  *v1alpha1.RebalancePolicy
		wantHot bool
	}{
		{name: "status fresh (1m old, interval 1m): hot", policy: rebalancePolicy(now.Add(-time.Minute), "x86-hot"), wantHot: true},
		{name: "status at 3 x interval: still followed", policy: rebalancePolicy(now.Add(-3*time.Minute), "x86-hot"), wantHot: true},
		{name: "status stale (4m old): the plugin classifies itself, and x86-hot is not hot", policy: rebalancePolicy(now.Add(-4*time.Minute), "x86-hot")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			p.publish(&buildInput{
				nodes: nodes, classes: []*v1alpha1.NodeClass{x86Class(), rpiClass()}, policy: tc.policy, readings: readings,
				pod: func(k types.NamespacedName) *corev1.Pod {
					if k.Name == "web-0" {
						return web0
					}
					return nil
				},
			})
			var infos []fwk.NodeInfo
			for _, n := range nodes {
				infos = append(infos, nodeInfo(n))
			}
			scores := p.scores(t, replacement, infos)
			list := make(fwk.NodeScoreList, 0, len(scores))
			for _, n := range nodes {
				list = append(list, fwk.NodeScore{Name: n.Name, Score: scores[n.Name]})
			}
			if s := p.NormalizeScore(context.Background(), framework.NewCycleState(), replacement, list); !s.IsSuccess() {
				t.Fatal(s)
			}
			lowest := true
			for _, ns := range list[1:] {
				if list[0].Score >= ns.Score {
					lowest = false
				}
			}
			if lowest != tc.wantHot || (argmax(scores) == "x86-hot") == tc.wantHot {
				t.Errorf("x86-hot lowest = %v, best = %s, want hot = %v (raw %v, normalized %v)", lowest, argmax(scores), tc.wantHot, scores, list)
			}
		})
	}
}

func TestNormalizeScore(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want []int64
	}{
		{name: "best node gets 100, others keep their proportion", in: []int64{69, 37, 6}, want: []int64{100, 53, 8}},
		{name: "all equal: no preference, all 100", in: []int64{42, 42, 42}, want: []int64{100, 100, 100}},
		{name: "all zero stays zero", in: []int64{0, 0}, want: []int64{0, 0}},
		{name: "max already 100 is unchanged", in: []int64{100, 10, 0}, want: []int64{100, 10, 0}},
		{name: "a single node", in: []int64{7}, want: []int64{100}},
		{name: "out-of-range scores are clamped first", in: []int64{-5, 250, 50}, want: []int64{0, 100, 50}},
		{name: "empty list", in: []int64{}, want: []int64{}},
	}
	p := newTestPlugin(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list := make(fwk.NodeScoreList, len(tc.in))
			for i, s := range tc.in {
				list[i] = fwk.NodeScore{Name: string(rune('a' + i)), Score: s}
			}
			if s := p.NormalizeScore(context.Background(), framework.NewCycleState(), nil, list); !s.IsSuccess() {
				t.Fatal(s)
			}
			got := make([]int64, len(list))
			for i := range list {
				got[i] = list[i].Score
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("normalized (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestPreScoreSkipsUntilTheFirstSnapshot(t *testing.T) {
	p := newTestPlugin(t)
	s := p.PreScore(context.Background(), framework.NewCycleState(), pod("p", "1", "1Gi", ""), nil)
	if s.Code() != fwk.Skip {
		t.Errorf("PreScore without a snapshot = %v, want Skip", s)
	}
	p.publish(&buildInput{})
	if s := p.PreScore(context.Background(), framework.NewCycleState(), pod("p", "1", "1Gi", ""), nil); !s.IsSuccess() {
		t.Errorf("PreScore with a snapshot = %v, want Success", s)
	}
}

func TestScoreWithoutPreScoreIsAnError(t *testing.T) {
	p := newTestPlugin(t)
	_, s := p.Score(context.Background(), framework.NewCycleState(), pod("p", "1", "1Gi", ""), nodeInfo(node("n", "")))
	if s.Code() != fwk.Error {
		t.Errorf("Score without PreScore state = %v, want Error", s)
	}
}

func TestSignPod(t *testing.T) {
	a := ownedBy(pod("a", "1", "1Gi", "cpu-bound"), "web")
	b := ownedBy(pod("b", "1", "1Gi", "cpu-bound"), "web")
	c := ownedBy(pod("c", "1", "1Gi", "memory-bound"), "web")
	d := ownedBy(pod("d", "1", "1Gi", "cpu-bound"), "api")
	p := newTestPlugin(t)
	sign := func(x *corev1.Pod) []fwk.SignFragment {
		f, s := p.SignPod(context.Background(), x)
		if !s.IsSuccess() {
			t.Fatal(s)
		}
		return f
	}
	if diff := cmp.Diff(sign(a), sign(b)); diff != "" {
		t.Errorf("two pods of one controller with one profile sign differently (-a,+b):\n%s", diff)
	}
	if cmp.Equal(sign(a), sign(c)) {
		t.Error("pods of different profiles sign the same")
	}
	if cmp.Equal(sign(a), sign(d)) {
		t.Error("pods of different controllers (whose measured usage differs) sign the same")
	}
}
