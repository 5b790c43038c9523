package nodeclassfit

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// placedPod is a pod placed on a node whose usage reading may not cover it yet.
type placedPod struct {
	node     string
	requests scoring.Requests
	// started is when the kubelet started the pod; zero while it has not.
	started time.Time
	// bound is true once the informer shows the pod bound; until then it is only reserved by
	// this scheduler and Unreserve may take it back.
	bound bool
}

// lagTracker compensates for metric lag. A reading cannot show the pods placed on a node after
// it was taken, so until a reading covers them they count at their requests:
//
//	covered = the node has a fresh reading and the pod started at or before it
//	lag(n)  = sum of NonZero(requests) over the pods on n not covered
//
// A pod enters when this scheduler reserves a node for it (before it is bound, so the very next
// scheduling cycle sees it) or when the informer shows it bound by any scheduler, and leaves when
// a reading covers it, when it finishes or is deleted, or when its reservation is undone. Without
// this a burst of evicted pods would all pick the same cold node, whose reading has not moved.
//
// The sums live in the published snapshot's node entries as atomics, so Score reads them without
// a lock; every change to them happens under mu.
type lagTracker struct {
	mu   sync.Mutex
	pods map[types.UID]placedPod
	snap *snapshot
}

func newLagTracker() *lagTracker {
	return &lagTracker{pods: map[types.UID]placedPod{}}
}

func covered(e *nodeEntry, p placedPod) bool {
	return e != nil && e.measured && !p.started.IsZero() && !p.started.After(e.reading)
}

// contribute adds (sign 1) or removes (sign -1) the pod's requests to its node's lag.
func (t *lagTracker) contribute(p placedPod, sign int64) {
	if t.snap == nil {
		return
	}
	e := t.snap.nodes[p.node]
	if e == nil || covered(e, p) {
		return
	}
	r := p.requests.NonZero()
	e.lagMilliCPU.Add(sign * r.MilliCPU)
	e.lagMemory.Add(sign * r.Memory)
}

func (t *lagTracker) put(uid types.UID, p placedPod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.pods[uid]; ok {
		if old == p {
			return
		}
		t.contribute(old, -1)
	}
	if t.snap != nil && covered(t.snap.nodes[p.node], p) {
		delete(t.pods, uid)
		return
	}
	t.pods[uid] = p
	t.contribute(p, 1)
}

func (t *lagTracker) remove(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.pods[uid]; ok {
		t.contribute(old, -1)
		delete(t.pods, uid)
	}
}

// reserve records that this scheduler placed the pod on node.
func (t *lagTracker) reserve(pod *corev1.Pod, node string) {
	t.put(pod.UID, placedPod{node: node, requests: scoring.PodRequests(pod)})
}

// unreserve forgets a reservation the scheduler undid; a pod already seen bound stays.
func (t *lagTracker) unreserve(pod *corev1.Pod) {
	t.mu.Lock()
	p, ok := t.pods[pod.UID]
	t.mu.Unlock()
	if ok && !p.bound {
		t.remove(pod.UID)
	}
}

// observe follows a pod from the informer.
func (t *lagTracker) observe(pod *corev1.Pod) {
	if pod.Spec.NodeName == "" {
		return
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		t.remove(pod.UID)
		return
	}
	p := placedPod{node: pod.Spec.NodeName, requests: scoring.PodRequests(pod), bound: true}
	if pod.Status.StartTime != nil {
		p.started = pod.Status.StartTime.Time
	}
	t.put(pod.UID, p)
}

// adopt makes s the snapshot whose entries carry the lag sums: it drops the pods that s's
// readings cover and sums the rest into s, under the lock, so that a reservation lands either in
// the sums computed here or in s directly, never in neither. It returns, per node, the raw
// requests of the pods that started after the node's reading: what the evictor adds to a
// reading, which the fallback classification needs.
func (t *lagTracker) adopt(s *snapshot) map[string]scoring.Requests {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap = s
	started := map[string]scoring.Requests{}
	for uid, p := range t.pods {
		e := s.nodes[p.node]
		if covered(e, p) {
			delete(t.pods, uid)
			continue
		}
		t.contribute(p, 1)
		if e != nil && e.measured && !p.started.IsZero() {
			started[p.node] = started[p.node].Add(p.requests)
		}
	}
	return started
}

// len is how many pods the tracker holds (for tests).
func (t *lagTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pods)
}
