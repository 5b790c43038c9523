package nodeclassfit

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

// steering holds the steers of the policy's ledger (placement.Steers): the node the evictor
// planned for each evicted pod's replacement. It is rebuilt on every change of the policy, not
// with the throttled snapshot: the replacement reaches the scheduler within a second of the
// eviction, and the steer is written before it. Each steer is used once, by the first pod of
// the workload the scheduler reserves a node for.
type steering struct {
	mu     sync.Mutex
	steers map[placement.SteerKey][]placement.Steer
	// used are the steers (by ID) pods took, and the steer each reserved pod took (to give it
	// back on Unreserve).
	used  map[string]bool
	taken map[types.UID]string
}

func newSteering() *steering {
	return &steering{used: map[string]bool{}, taken: map[types.UID]string{}}
}

// update replaces the steers with those of the policy's ledger; p nil (no policy) clears them.
func (s *steering) update(p *v1alpha1.RebalancePolicy, now time.Time) {
	var steers map[placement.SteerKey][]placement.Steer
	if p != nil {
		steers = placement.Steers(p.Status.Ledger, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steers = steers
	// Forget what no longer stands.
	live := map[string]bool{}
	for _, l := range steers {
		for _, st := range l {
			live[st.ID] = true
		}
	}
	for id := range s.used {
		if !live[id] {
			delete(s.used, id)
		}
	}
}

// active reports whether the pod's workload has a steer standing at now that no pod used.
func (s *steering) active(pod *corev1.Pod, now time.Time) bool {
	return s.pick(pod, nil, now) != ""
}

// pick returns the node the pod is steered to among the feasible nodes (nil: any), or "".
func (s *steering) pick(pod *corev1.Pod, nodes []fwk.NodeInfo, now time.Time) string {
	key, ok := placement.SteerKeyOf(pod)
	if !ok {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return placement.SteeredNode(s.steers[key], now, func(id string) bool { return s.used[id] }, nodes)
}

// reserve uses the workload's steer for the pod: the one for the node it got, else the first that
// stands (the pod is the replacement even when the planned node could not take it).
func (s *steering) reserve(pod *corev1.Pod, node string, now time.Time) {
	key, ok := placement.SteerKeyOf(pod)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	used := func(id string) bool { return s.used[id] }
	st, found := placement.NextSteer(s.steers[key], now, used, func(n string) bool { return n == node })
	if !found {
		st, found = placement.NextSteer(s.steers[key], now, used, nil)
	}
	if found {
		s.used[st.ID] = true
		s.taken[pod.UID] = st.ID
	}
}

// unreserve gives back the steer the pod took.
func (s *steering) unreserve(pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.taken[pod.UID]; ok {
		delete(s.used, id)
		delete(s.taken, pod.UID)
	}
}

// bound forgets which steer a bound pod took: it stays used.
func (s *steering) bound(pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.taken, pod.UID)
}
