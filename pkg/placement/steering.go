package placement

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Steering: the evictor writes each eviction to the policy's ledger before it calls the eviction
// API (write-ahead), with the node the planner confirmed for the replacement (destination) and,
// for a scheduler that follows steers (Engine.Steers), an expiry. The Rebalancer's scheduler reads
// the ledger and, until the expiry, prefers that node for the workload's next pod while the node
// is feasible; otherwise its score decides as usual. A steer is used once. Kube-scheduler draws
// at random among equal top scores (identical empty nodes tie): the steer makes the planned node
// the one it picks. This is Koordinator's "reserve, then migrate" without a scheduler of its own.

// SteerTTL is how long a steer stands: two of the policy's intervals, at least two minutes. A
// replacement is created as soon as its pod is marked terminating, so it reaches the scheduler
// within seconds; the margin covers a scheduler that is catching up.
func SteerTTL(interval time.Duration) time.Duration { return max(2*interval, 2*time.Minute) }

// SteerKey names a workload: the controller of an evicted pod, which is also the controller of
// its replacement.
type SteerKey struct {
	Namespace, Kind, Name string
}

// SteerKeyOf returns the key of the pod's controller; false for a pod without one.
func SteerKeyOf(pod *corev1.Pod) (SteerKey, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return SteerKey{}, false
	}
	return SteerKey{Namespace: pod.Namespace, Kind: ref.Kind, Name: ref.Name}, true
}

// Steer is one planned destination for a workload's next pod.
type Steer struct {
	// Node is the planned destination.
	Node string
	// Expires ends the steer.
	Expires time.Time
	// ID names the ledger entry (namespace/pod@time), so the scheduler uses each steer once.
	ID string
}

// Live reports whether the steer still stands at now.
func (s Steer) Live(now time.Time) bool { return now.Before(s.Expires) }

// Steers returns the steers of a ledger that stand at now, by workload, oldest first.
func Steers(ledger []v1alpha1.Disruption, now time.Time) map[SteerKey][]Steer {
	var out map[SteerKey][]Steer
	for i := range ledger {
		d := &ledger[i]
		if d.Destination == "" || d.DestinationExpires == nil || !now.Before(d.DestinationExpires.Time) {
			continue
		}
		kind, name, ok := strings.Cut(d.Workload, "/")
		if !ok {
			continue
		}
		if out == nil {
			out = map[SteerKey][]Steer{}
		}
		k := SteerKey{Namespace: d.Namespace, Kind: kind, Name: name}
		out[k] = append(out[k], Steer{Node: d.Destination, Expires: d.DestinationExpires.Time,
			ID: d.Namespace + "/" + d.Pod + "@" + d.Time.UTC().Format(time.RFC3339Nano)})
	}
	return out
}

// NextSteer returns the first steer that stands at now, that no pod used (used may be nil) and
// whose node ok accepts (nil: any node); false when there is none. It is the one search over a
// workload's steers: the scheduler's plugin (scoring and reserving) and the engine's
// RebalancerNodeClassFit use it.
func NextSteer(steers []Steer, now time.Time, used func(id string) bool, ok func(node string) bool) (Steer, bool) {
	for _, st := range steers {
		if st.Live(now) && (used == nil || !used(st.ID)) && (ok == nil || ok(st.Node)) {
			return st, true
		}
	}
	return Steer{}, false
}

// SteeredNode returns the node of the first steer that stands at now, that no pod used (used may
// be nil) and whose node is feasible, among nodes (nil: any node); "" when there is none. A
// workload has a steer or two: each is looked up in nodes, nothing is allocated.
func SteeredNode(steers []Steer, now time.Time, used func(id string) bool, nodes []fwk.NodeInfo) string {
	if len(steers) == 0 {
		return ""
	}
	var feasible func(string) bool
	if nodes != nil {
		feasible = func(name string) bool {
			for _, ni := range nodes {
				if ni.Node().Name == name {
					return true
				}
			}
			return false
		}
	}
	st, _ := NextSteer(steers, now, used, feasible)
	return st.Node
}

// SteeredScore is RebalancerNodeClassFit's score for a steered pod: MaxNodeScore on the node it
// is steered to, 0 on every other. At the plugin's weight (5 in the Rebalancer's profile) this
// puts the steered node 500 points ahead, more than the default plugins' scores differ by
// between nodes a planned move may tie on.
func SteeredScore(node, steer string) int64 {
	if node == steer {
		return fwk.MaxScore
	}
	return 0
}
