package evictor

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// policyState is what the evictor remembers about one policy between cycles. Budgets are not
// here: they are in object status. Losing this state (a restart) only makes the evictor more
// careful: nodes need their consecutive readings again before they count as hot.
type policyState struct {
	plan planner.State
	// followed are recent evictions whose outcome is still being watched.
	followed []followed
	// pendingSince is when a held-back pod was first held back, by pod key.
	pendingSince map[string]time.Time
	// lastCycle is when this replica last ran a cycle of the policy, at spec generation
	// generation: cycles are an interval apart even when the cache still holds a status older
	// than the last cycle's (every ledger write is a status update that queues the policy again).
	lastCycle  time.Time
	generation int64
	// reported are the nodes whose gauges the last cycle set, to delete those of nodes that are
	// gone (or no longer the policy's) instead of exporting their last values forever.
	reported map[string]bool
	// heldBackTold are the pods the last cycle held back for a budget or several PDBs and had
	// already told so with an event (reportHeldBack).
	heldBackTold map[heldBackKey]bool
}

// waitFor is how long a cycle at now must wait for the policy's interval to pass since this
// replica's last cycle of the same spec generation; 0 when it may run.
func (st *policyState) waitFor(generation int64, interval time.Duration, now time.Time) time.Duration {
	if st.lastCycle.IsZero() || st.generation != generation {
		return 0
	}
	return max(st.lastCycle.Add(interval).Sub(now), 0)
}

// followed is an eviction whose replacement and source node are being watched.
type followed struct {
	Move planner.Move
	At   time.Time
	// SourceBefore is the score of the node the pod left, as the plan read it.
	SourceBefore float64
	// Classes are the nodes' classes when the move was planned (shared by the cycle's moves).
	Classes map[string]scoring.Class
	// Landed is the node the replacement was first seen on, once it was, and LandedPod that
	// replacement (no other eviction of the workload is paired with it).
	Landed    string
	LandedPod types.UID
}

type states struct {
	mu sync.Mutex
	m  map[string]*policyState
}

func (s *states) get(policy string) *policyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*policyState{}
	}
	st := s.m[policy]
	if st == nil {
		st = &policyState{pendingSince: map[string]time.Time{}}
		s.m[policy] = st
	}
	return st
}

// forget drops what the evictor remembers about a deleted policy and returns it (nil if none).
func (s *states) forget(policy string) *policyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[policy]
	delete(s.m, policy)
	return st
}

// nodeScores keeps every node's latest score from any policy, for NodeClass status.
type nodeScores struct {
	mu sync.Mutex
	m  map[string]float64
}

func (n *nodeScores) set(node string, score float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]float64{}
	}
	n.m[node] = score
}

func (n *nodeScores) get(node string) (float64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.m[node]
	return v, ok
}
