package nodeclassfit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// Three x86 nodes (4 cores, 8Gi) read at utilisation scores (CPU and memory weigh 0.5 each):
//
//	busy:  (3600/4000 + 7.2/8) / 2 = 0.9    at or above hot (0.75)
//	mid:   (2000/4000 + 4/8) / 2   = 0.5    between cold and hot
//	idle:  (400/4000 + 0.8/8) / 2  = 0.1    below cold (0.35)
func TestClassify(t *testing.T) {
	nodes := []*corev1.Node{node("busy", "amd64"), node("mid", "amd64"), node("idle", "amd64")}
	readingsAt := func(age time.Duration) usage.Readings {
		return usage.Readings{Nodes: map[string]usage.Sample{
			"busy": sample(3600, 7.2, age), "mid": sample(2000, 4, age), "idle": sample(400, 0.8, age),
		}}
	}
	once := func(p *v1alpha1.RebalancePolicy) *v1alpha1.RebalancePolicy {
		p.Spec.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: 1}
		return p
	}
	tests := []struct {
		name    string
		policy  *v1alpha1.RebalancePolicy
		classes []*v1alpha1.NodeClass
		// readings are taken this many times, 15s apart, the last one 5s ago.
		readings int
		want     Summary
	}{
		{
			name:   "fresh status: the evictor's classification, whatever the readings say",
			policy: rebalancePolicy(now.Add(-2*time.Minute), "mid"), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, HotFromStatus: true, Hot: []string{"mid"}},
		},
		{
			name: "fresh status names cold nodes too",
			policy: func() *v1alpha1.RebalancePolicy {
				p := rebalancePolicy(now.Add(-time.Minute), "busy")
				p.Status.ColdNodeNames = []string{"idle"}
				return p
			}(), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, HotFromStatus: true, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
		{
			name:   "stale status: hysteresis over the same readings and thresholds",
			policy: once(rebalancePolicy(now.Add(-10*time.Minute), "mid")), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
		{
			name:   "no status yet: hysteresis",
			policy: once(rebalancePolicy(time.Time{})), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
		{
			name:   "three consecutive readings (the default) before a node is classified: two are not enough",
			policy: rebalancePolicy(time.Time{}), readings: 2,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true},
		},
		{
			name:   "three consecutive readings (the default): the third classifies",
			policy: rebalancePolicy(time.Time{}), readings: 3,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
		{
			name: "no policy: the API defaults", readings: 3,
			want: Summary{Nodes: 3, Measured: 3, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
		{
			name:   "a NodeClass's thresholds replace the policy's",
			policy: once(rebalancePolicy(time.Time{})), readings: 1,
			classes: []*v1alpha1.NodeClass{func() *v1alpha1.NodeClass {
				c := x86Class()
				c.Spec.Thresholds = &v1alpha1.Thresholds{Hot: 0.95, Cold: 0.05}
				return c
			}()},
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true},
		},
		{
			name: "nodes outside the policy's nodeSelector are never classified by the plugin",
			policy: func() *v1alpha1.RebalancePolicy {
				p := once(rebalancePolicy(time.Time{}))
				p.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"pool": "batch"}}
				return p
			}(), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true},
		},
		{
			name: "a policy that cannot classify (cold not below hot) classifies nothing",
			policy: func() *v1alpha1.RebalancePolicy {
				p := once(rebalancePolicy(time.Time{}))
				p.Spec.Thresholds = &v1alpha1.Thresholds{Hot: 0.3, Cold: 0.6}
				return p
			}(), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true},
		},
		{
			name: "policy weights: memory only",
			policy: func() *v1alpha1.RebalancePolicy {
				p := once(rebalancePolicy(time.Time{}))
				p.Spec.Weights = &v1alpha1.ResourceWeights{CPU: ptr.To(0.0), Memory: ptr.To(1.0)}
				return p
			}(), readings: 1,
			want: Summary{Nodes: 3, Measured: 3, PolicyFound: true, Hot: []string{"busy"}, Cold: []string{"idle"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			classes := tc.classes
			if classes == nil {
				classes = []*v1alpha1.NodeClass{x86Class()}
			}
			var s *snapshot
			for i := tc.readings - 1; i >= 0; i-- {
				age := 5*time.Second + time.Duration(i)*15*time.Second
				s = p.publish(&buildInput{nodes: nodes, classes: classes, policy: tc.policy, readings: readingsAt(age)})
			}
			if diff := cmp.Diff(tc.want, s.summary()); diff != "" {
				t.Errorf("summary (-want,+got):\n%s", diff)
			}
		})
	}
}

// The fallback adds, as the evictor does, the requests of pods that started after a node's
// reading: mid (0.5) plus a pod of 1.2 cores and 2.4Gi started after the reading is
// ((2000+1200)/4000 + (4+2.4)/8) / 2 = 0.8, hot. A pod not started yet is not added (the evictor
// does not see it either), though it counts for placement.
func TestClassifyCountsPodsStartedAfterTheReading(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started time.Time
		wantHot []string
	}{
		{name: "started after the reading", started: now.Add(-2 * time.Second), wantHot: []string{"mid"}},
		{name: "not started yet", wantHot: nil},
		{name: "started before the reading: in it already", started: now.Add(-time.Minute), wantHot: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPlugin(t)
			pol := rebalancePolicy(time.Time{})
			pol.Spec.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: 1}
			p.lag.observe(startedOrNot(on(pod("new", "1200m", "2457.6Mi", ""), "mid"), tc.started))
			s := p.publish(&buildInput{
				nodes: []*corev1.Node{node("mid", "amd64")}, classes: []*v1alpha1.NodeClass{x86Class()}, policy: pol,
				readings: usage.Readings{Nodes: map[string]usage.Sample{"mid": sample(2000, 4, 5*time.Second)}},
			})
			if diff := cmp.Diff(tc.wantHot, s.summary().Hot); diff != "" {
				t.Errorf("hot (-want,+got):\n%s", diff)
			}
		})
	}
}
