package placement

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
// It is kube-scheduler's numFeasibleNodesToFind, which is not exported; the property test
// checks it against the scheduler's own count (ScheduleResult.FeasibleNodes).
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
// possible to be acceptable, so it errs on the side of holding a move back. s is sorted by
// sortScores; the result is sorted by name.
func possible(s []NodeScore, k int) []string {
	var out []string
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		// s[i:j] share a score; len(s)-i nodes score no higher than they do, themselves included.
		if len(s)-i-1 >= k-1 {
			for _, ns := range s[i:j] {
				out = append(out, ns.Node)
			}
		}
		i = j
	}
	sortStrings(out)
	return out
}
