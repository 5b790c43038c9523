package placement

import "math"

// kube-scheduler's constants for how many feasible nodes it looks for before scoring
// (pkg/scheduler/schedule_one.go, minFeasibleNodesToFind and minFeasibleNodesPercentageToFind).
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// NumFeasibleNodesToFind is how many feasible nodes kube-scheduler v1.37 finds, then stops
// filtering and scores only those, in a cluster of allNodes nodes, for a profile whose
// percentageOfNodesToScore is percentage (nil or 0: adaptive):
//
//	allNodes < 100        -> allNodes (every node)
//	percentage            = the profile's, else the configuration's, else 50 - allNodes/125, at least 5
//	n                     = allNodes x percentage / 100, at least 100
//
// It is kube-scheduler's numFeasibleNodesToFind, which is not exported;
// TestNumFeasibleNodesToFindMatchesKubeScheduler checks it against a real Scheduler's count
// (ScheduleResult.FeasibleNodes) from 50 to 5,000 nodes.
func NumFeasibleNodesToFind(percentage *int32, allNodes int) int {
	n := int32(allNodes)
	if n < minFeasibleNodesToFind {
		return allNodes
	}
	var pct int32
	if percentage != nil {
		pct = *percentage
	}
	if pct == 0 {
		pct = max(int32(50)-n/125, minFeasibleNodesPercentageToFind)
	}
	num := n * pct / 100
	if num < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return int(num)
}

// possible are the nodes a sampling scheduler may pick. kube-scheduler filters nodes in its own
// order from a rotating start and scores the first k feasible ones, then picks the best of that
// sample. A node can be the best of a sample of k only if at least k-1 other feasible nodes
// score no higher than it, so every node that kube-scheduler may pick is in:
//
//	possible = { n feasible : |{m feasible, m != n, score(m) <= score(n)}| >= k-1 }
//
// computed on the scores of every feasible node. The bound ignores one thing: plugins normalize
// their scores over the nodes of the cycle, so over a sample two nodes whose totals differ by a
// few points can swap places. A caller that needs a move to be safe requires every node of
// possible to be acceptable, so it errs on the side of holding a move back. s and byName are the
// scores as rankScores returns them: ranked, and in the order of the nodes' names, which the
// result keeps.
func possible(s, byName []NodeScore, k int) []string {
	// Groups of equal scores from the highest: s[i:j] share a score, and len(s)-i nodes score no
	// higher than they do, themselves included. The groups that qualify are the ones down to the
	// lowest score that does.
	lowest, n := int64(0), 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		if len(s)-i-1 >= k-1 {
			lowest, n = s[i].Score, j
		}
		i = j
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for _, ns := range byName {
		if ns.Score >= lowest {
			out = append(out, ns.Node)
		}
	}
	return out
}

// MissChance is the probability that the scheduler puts the pod on a node for which ok is false.
// Without sampling it picks one of Top uniformly at random (kube-scheduler's selectHost draws
// among equal top scores by reservoir sampling):
//
//	miss = |{n in Top : !ok(n)}| / |Top|
//
// With sampling it scores the first ToScore feasible nodes of its own order, from a start that
// rotates between cycles; taking that window as a uniformly random k-subset of the F feasible
// nodes, the best of it has a score no higher than s with probability C(F - above(s), k) / C(F, k),
// where above(s) counts the nodes scoring higher than s, so a group of nodes tied at s wins with
//
//	P(max = s) = (C(F - above(s), k) - C(F - above(s) - tied(s), k)) / C(F, k)
//
// shared equally among them. miss sums that over the nodes !ok rejects. The window is in truth
// contiguous in kube-scheduler's node order, and plugins normalize over the window, so this is a
// model of the draw, not the scheduler's code: Possible, which holds every node the scheduler can
// pick at all, is the bound that does not depend on it. TestMissChanceAgainstKubeScheduler sets
// the model against a real kube-scheduler's picks: equal on average over random clusters, off by
// up to about 0.17 in a single one.
func (p Prediction) MissChance(ok func(node string) bool) float64 {
	if len(p.Scores) == 0 {
		return 0
	}
	if !p.Sampled {
		miss := 0
		for _, n := range p.Top {
			if !ok(n) {
				miss++
			}
		}
		return float64(miss) / float64(len(p.Top))
	}
	f, k := len(p.Scores), min(p.ToScore, len(p.Scores))
	var miss float64
	for i := 0; i < f; {
		j := i
		for j < f && p.Scores[j].Score == p.Scores[i].Score {
			j++
		}
		win := ratio(f-i, f, k) - ratio(f-j, f, k)
		for _, ns := range p.Scores[i:j] {
			if !ok(ns.Node) {
				miss += win / float64(j-i)
			}
		}
		i = j
	}
	return miss
}

// ratio is C(m, k) / C(n, k) for m <= n, through log-gamma so that thousands of nodes do not
// overflow; 0 when m < k.
func ratio(m, n, k int) float64 {
	if m < k {
		return 0
	}
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Exp(lg(m) - lg(m-k) - lg(n) + lg(n-k))
}
