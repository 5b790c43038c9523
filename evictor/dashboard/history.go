// Package dashboard serves the evictor's web page at /dashboard and its read-only JSON API under
// /api/v1: what the last plan is and why, how the nodes look, what budgets are left, and how
// sigma and evictions went over the last hours. It keeps that history in memory, bounded.
package dashboard

import (
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tinorodney/rebalancer/evictor"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// Bounds of the history kept per policy: a day of points at a one-minute interval, the latest
// evictions, and the first held-back candidates of the latest plan.
const (
	MaxPoints    = 1440
	MaxEvictions = 500
	MaxHeldBack  = 200
)

// History keeps, per policy, the latest cycle and a bounded record of earlier ones. It is an
// evictor.Observer.
type History struct {
	mu       sync.RWMutex
	policies map[string]*policyHistory
}

type policyHistory struct {
	latest    evictor.Cycle
	points    []Point
	evictions []Eviction
}

// Point is one cycle on the sigma chart.
type Point struct {
	Time   time.Time `json:"time"`
	Sigma  *float64  `json:"sigma,omitempty"`
	Hot    int       `json:"hot"`
	Cold   int       `json:"cold"`
	Moves  int       `json:"moves"`
	DryRun bool      `json:"dryRun"`
}

// Eviction is one eviction or dry-run decision and, once known, what came of it.
type Eviction struct {
	Time      time.Time `json:"time"`
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	Workload  string    `json:"workload"`
	From      string    `json:"from"`
	To        string    `json:"predictedTo"`
	SigmaDrop float64   `json:"predictedSigmaDrop"`
	DryRun    bool      `json:"dryRun"`
	Result    string    `json:"result"`
	// PredictedNodes counts the nodes the scheduler may pick (ties, sampling), To among them.
	PredictedNodes int `json:"predictedNodes,omitempty"`
	// Outcome is Cooled, CameBack, Misplaced or NotCooled once the evictor has followed the
	// eviction up; LandedOn is where the replacement runs, AsPredicted whether that node was in
	// the predicted set.
	Outcome     string `json:"outcome,omitempty"`
	LandedOn    string `json:"landedOn,omitempty"`
	AsPredicted *bool  `json:"landedAsPredicted,omitempty"`
}

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{policies: map[string]*policyHistory{}}
}

// ObserveCycle records a cycle.
func (h *History) ObserveCycle(c evictor.Cycle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ph := h.policies[c.Policy]
	if ph == nil {
		ph = &policyHistory{}
		h.policies[c.Policy] = ph
	}
	ph.latest = trimCycle(c)
	pt := Point{Time: c.Time, Hot: c.Result.HotNodes, Cold: c.Result.ColdNodes, Moves: len(c.Result.Moves), DryRun: c.DryRun}
	if len(c.Result.Blockers) == 0 && len(c.Result.Nodes) > 0 {
		s := c.Result.SigmaBefore
		pt.Sigma = &s
	}
	ph.points = appendBounded(ph.points, pt, MaxPoints)
	for _, o := range c.Outcomes {
		ph.evictions = appendBounded(ph.evictions, Eviction{
			Time: c.Time, Namespace: o.Move.Pod.Namespace, Pod: o.Move.Pod.Name, Workload: o.Move.Workload.String(),
			From: o.Move.From, To: o.Move.To, SigmaDrop: o.Move.SigmaDrop(), DryRun: o.Outcome == evictor.WouldEvict, Result: resultText(o),
			PredictedNodes: len(o.Move.Possible),
		}, MaxEvictions)
	}
	for _, f := range c.Followups {
		for i := len(ph.evictions) - 1; i >= 0; i-- {
			e := &ph.evictions[i]
			if e.Namespace == f.Followed.Move.Pod.Namespace && e.Pod == f.Followed.Move.Pod.Name && !e.DryRun {
				e.Outcome, e.LandedOn = f.Outcome, f.LandedOn
				if f.LandedOn != "" {
					as := evictor.LandedAsPredicted(f.Followed.Move, f.LandedOn)
					e.AsPredicted = &as
				}
				break
			}
		}
	}
}

func resultText(o evictor.MoveOutcome) string {
	switch o.Outcome {
	case evictor.Evicted:
		return "evicted"
	case evictor.WouldEvict:
		return "would evict (dry-run)"
	default:
		return o.Detail
	}
}

// trimCycle keeps the latest cycle small: the first held-back candidates, not all of them. A
// plan whose summary the status does not carry (its write failed) gets it here first, from
// every candidate, so that the counts and what stopped the plan are not taken from the trimmed
// list.
func trimCycle(c evictor.Cycle) evictor.Cycle {
	if c.Status.LastPlan == nil && (len(c.Result.Nodes) > 0 || len(c.Result.Blockers) > 0) {
		c.Status.LastPlan = evictor.Summary(&c.Result)
	}
	if len(c.Result.HeldBack) > MaxHeldBack {
		c.Result.HeldBack = append([]planner.HeldBack(nil), c.Result.HeldBack[:MaxHeldBack]...)
	}
	return c
}

func appendBounded[T any](s []T, v T, max int) []T {
	s = append(s, v)
	if len(s) > max {
		s = append(s[:0:0], s[len(s)-max:]...)
	}
	return s
}

// Policies lists the policies with a recorded cycle, sorted.
func (h *History) Policies() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.policies))
	for p := range h.policies {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// snapshot returns copies of a policy's latest cycle, points and evictions.
func (h *History) snapshot(policy string) (evictor.Cycle, []Point, []Eviction, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ph := h.policies[policy]
	if ph == nil {
		return evictor.Cycle{}, nil, nil, false
	}
	return ph.latest, append([]Point(nil), ph.points...), append([]Eviction(nil), ph.evictions...), true
}

// conditionsOf returns the conditions to show: the status's, or the cycle's when none were written.
func conditionsOf(c evictor.Cycle) []metav1.Condition {
	if len(c.Status.Conditions) > 0 {
		return c.Status.Conditions
	}
	return c.Conditions
}
