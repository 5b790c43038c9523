package nodeclassfit

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// The evictor's steer in the policy's ledger: the workload's next pod scores MaxNodeScore on
// the planned node and 0 elsewhere while the steer stands and the node is feasible; one pod uses
// it (given back on Unreserve); a steered pod is not signed for batching.
func TestSteering(t *testing.T) {
	p := newTestPlugin(t)
	nodes := []*corev1.Node{node("cold-a", "amd64"), node("cold-b", "amd64"), node("cold-c", "amd64")}
	p.publish(&buildInput{nodes: nodes, classes: []*v1alpha1.NodeClass{x86Class()},
		readings: usage.Readings{Nodes: map[string]usage.Sample{
			"cold-a": sample(400, 1, 5*time.Second), "cold-b": sample(800, 2, 5*time.Second), "cold-c": sample(800, 2, 5*time.Second)}}})
	all := []fwk.NodeInfo{nodeInfo(nodes[0]), nodeInfo(nodes[1]), nodeInfo(nodes[2])}
	policy := rebalancePolicy(now)
	policy.Status.Ledger = []v1alpha1.Disruption{{
		Time: metav1.NewTime(now.Add(-10 * time.Second)), Namespace: "default", Pod: "web-old", Workload: "ReplicaSet/web",
		Destination: "cold-c", DestinationExpires: ptr.To(metav1.NewTime(now.Add(2 * time.Minute))),
	}}
	p.steer.update(policy, now)
	ctx := context.Background()
	replacement := ownedBy(pod("web-new", "200m", "256Mi", ""), "web")
	other := ownedBy(pod("api-new", "200m", "256Mi", ""), "api")

	if got := argmax(p.scores(t, other, all)); got != "cold-a" {
		t.Fatalf("another workload is not steered: best %s, want cold-a (the emptiest)", got)
	}
	steered := p.scores(t, replacement, all)
	if steered["cold-c"] != fwk.MaxScore || steered["cold-a"] != 0 || steered["cold-b"] != 0 {
		t.Errorf("steered scores %v, want 100 on cold-c and 0 elsewhere", steered)
	}
	if _, s := p.SignPod(ctx, replacement); s.Code() != fwk.Unschedulable {
		t.Errorf("SignPod of a steered pod: %v, want Unschedulable (not signed)", s)
	}
	if got := argmax(p.scores(t, replacement, all[:2])); got != "cold-a" {
		t.Errorf("steered node not feasible: best %s, want the score's choice cold-a", got)
	}

	// The replacement takes the steer; the workload's next pod is placed by the score again.
	if s := p.Reserve(ctx, framework.NewCycleState(), replacement, "cold-c"); !s.IsSuccess() {
		t.Fatal(s)
	}
	next := ownedBy(pod("web-next", "200m", "256Mi", ""), "web")
	if got := argmax(p.scores(t, next, all)); got != "cold-a" {
		t.Errorf("after the steer was used: best %s, want cold-a", got)
	}
	if _, s := p.SignPod(ctx, next); !s.IsSuccess() {
		t.Errorf("SignPod after the steer was used: %v", s)
	}
	p.Unreserve(ctx, framework.NewCycleState(), replacement, "cold-c")
	if got := argmax(p.scores(t, next, all)); got != "cold-c" {
		t.Errorf("after Unreserve the steer stands again: best %s, want cold-c", got)
	}

	// Past its expiry the steer is not followed.
	p.Plugin.clock.(interface{ SetTime(time.Time) }).SetTime(now.Add(3 * time.Minute))
	if got := argmax(p.scores(t, next, all)); got != "cold-a" {
		t.Errorf("expired steer: best %s, want cold-a", got)
	}
}
