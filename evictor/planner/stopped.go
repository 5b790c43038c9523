package planner

import (
	"cmp"
	"slices"
)

// What kept a plan from doing more (Result.Stopped). Besides these, Stopped returns a blocker's
// condition reason, OutsideDisruptionWindow, or the reason code that held back the most
// candidates.
const (
	// StopNothingHot: no node was hot.
	StopNothingHot = "NothingHot"
	// StopNoCandidate: the hot nodes held no pod but pods that are not opted in.
	StopNoCandidate = "NoCandidate"
	// StopNoColdDestination: no node could take a replacement (none cold under destinations
	// Cold; none acceptable by the placement engine).
	StopNoColdDestination = "NoColdDestination"
	// StopCycleLimit: the per-cycle or per-node-per-cycle rate limit.
	StopCycleLimit = "CycleLimit"
	// StopHourlyLimit: the policy's evictions per hour.
	StopHourlyLimit = "HourlyLimit"
	// StopConfirmationLimit: the placement engine ran as often as one cycle allows
	// (ReasonConfirmationLimit) before every candidate was confirmed; more runs might have found
	// more moves.
	StopConfirmationLimit = "ConfirmationLimit"
	// StopUncertainDestination: candidates were held back because their scheduler may put the
	// replacement on a node that is not an acceptable destination (it draws among equal top
	// scores, or scores a sample of the nodes: ReasonUncertainDestination), or because where it
	// lands depends on such a draw of an earlier move (ReasonAfterUncertainMove).
	StopUncertainDestination = "UncertainDestination"
	// StopBudget: a namespace budget or a WorkloadSLO's disruptions per hour.
	StopBudget = "Budget"
	// StopBackoff: the workloads left were backing off after an eviction.
	StopBackoff = "Backoff"
)

// stopRank is the order in which limits are named when several held candidates back: the
// first that held any back is the one Stopped names.
//
// The rate limits come first: they stop a plan that had more to do. The engine's run limit
// comes before the rest: candidates past it were not looked at all, and naming the backoff of a
// few pods would hide that the cycle ran out of confirmations. An uncertain destination comes
// before budgets and backoff too: those candidates had a node to go to but their scheduler may
// not pick it, which is what limits a cluster whose pods are on the default scheduler (one move a
// cycle once it samples), while a few pods backing off are not. Candidates with nowhere to go
// come last.
var stopRank = []struct {
	stop  string
	codes []ReasonCode
}{
	{StopCycleLimit, []ReasonCode{ReasonCycleLimit, ReasonNodeCycleLimit}},
	{StopHourlyLimit, []ReasonCode{ReasonHourlyLimit}},
	{StopConfirmationLimit, []ReasonCode{ReasonConfirmationLimit}},
	{StopUncertainDestination, []ReasonCode{ReasonUncertainDestination, ReasonAfterUncertainMove}},
	{StopBudget, []ReasonCode{ReasonNamespaceBudget, ReasonSLOBudget}},
	{StopBackoff, []ReasonCode{ReasonBackoff}},
	{StopNoColdDestination, nowhereToGo},
}

// nowhereToGo are the reasons of candidates with no acceptable destination.
var nowhereToGo = []ReasonCode{ReasonNoDestination, ReasonDestinationNotCold, ReasonLandsOnHotNode, ReasonDestinationTurnsHot}

// Stopped says what kept the plan from doing more, and how many held-back candidates it
// accounts for (0 when it is not a held-back reason). In order: a blocker (its condition
// reason: nothing was planned); the disruption window, when moves were deferred; no hot node;
// no cold node under destinations Cold when nothing moved; the first limit of stopRank that held
// any candidate back; else the reason that held back the most candidates, but NotOptedIn
// (NoCandidate when there is none), ties to the one the eligibility rules report first.
// Candidates held back on the fast model's word alone (Unconfirmed) count for the engine's run
// limit.
//
// The evictor's status (lastPlan.stoppedBy), `rebalancer plan` and the simulator's cycle
// table and verdict all say it from here.
func (p *Result) Stopped() (stop string, held int) {
	switch {
	case len(p.Blockers) > 0:
		return p.Blockers[0].Reason, 0
	case len(p.Deferred) > 0:
		return string(ReasonOutsideWindow), len(p.Deferred)
	case p.HotNodes == 0:
		return StopNothingHot, 0
	}
	by := p.HeldBackByReason()
	if p.ColdNodes == 0 && len(p.Moves) == 0 && !p.NotHotDestinations {
		// Nothing could be moved anywhere; backoff or a budget on some pods changes nothing.
		n := 0
		for _, c := range nowhereToGo {
			n += by[c]
		}
		return StopNoColdDestination, n
	}
	for _, r := range stopRank {
		n := 0
		for _, c := range r.codes {
			n += by[c]
		}
		if r.stop == StopConfirmationLimit {
			n += p.Unconfirmed
		}
		if n > 0 {
			return r.stop, n
		}
	}
	most := 0
	var tied []ReasonCode
	for code, n := range by {
		switch {
		case code == ReasonNotOptedIn || n < most:
		case n > most:
			most, tied = n, append(tied[:0], code)
		default:
			tied = append(tied, code)
		}
	}
	switch len(tied) {
	case 0:
		return StopNoCandidate, 0
	case 1:
		return string(tied[0]), most
	}
	// A tie goes to the reason the eligibility rules report first (a pod's reasons are in the
	// rules' order), then by name. Ties are rare: the held-back list is read again only for them.
	first := map[ReasonCode]int{}
	for _, h := range p.HeldBack {
		for i, r := range h.Reasons {
			if j, ok := first[r.Code]; !ok || i < j {
				first[r.Code] = i
			}
		}
	}
	return string(slices.MinFunc(tied, func(a, b ReasonCode) int {
		return cmp.Or(cmp.Compare(first[a], first[b]), cmp.Compare(a, b))
	})), most
}
