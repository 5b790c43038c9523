package planner

import (
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// shortlistSize is how many nodes of each NodeClass the predictor scores exactly for every
// candidate, on each of three keys: the lowest predicted utilisation, the lowest predicted
// utilisation among the cold nodes, and the lowest requested fraction. The Rebalancer's score
// prefers the first two (headroom, and a bonus for a cold node, which hysteresis may keep cold
// while nodes of lower utilisation are not yet), the default scheduler's the third, so the best
// of the shortlist is the best node in all but contrived cases; when no shortlisted node is
// feasible the predictor scans every node. (kube-scheduler itself scores a sample of nodes in
// large clusters, percentageOfNodesToScore.)
const shortlistSize = 16

// predictor predicts where the replacement of an evicted pod lands.
type predictor struct {
	scope  []*nodeInfo
	groups [][]*nodeInfo // scope by NodeClass, in order of first appearance
	w      scoring.Weights
	pw     scoring.PlacementWeights
	short  []*nodeInfo
	mark   map[*nodeInfo]bool
}

func newPredictor(scope []*nodeInfo, w scoring.Weights) *predictor {
	pr := &predictor{scope: scope, w: w, pw: scoring.DefaultPlacementWeights, mark: map[*nodeInfo]bool{}}
	index := map[*classInfo]int{}
	for _, n := range scope {
		i, ok := index[n.class]
		if !ok {
			i = len(pr.groups)
			index[n.class] = i
			pr.groups = append(pr.groups, nil)
		}
		pr.groups[i] = append(pr.groups[i], n)
	}
	pr.rebuild()
	return pr
}

// rebuild recomputes the shortlist after moves changed node loads.
func (pr *predictor) rebuild() {
	clear(pr.mark)
	pr.short = pr.short[:0]
	add := func(n *nodeInfo) {
		if !pr.mark[n] {
			pr.mark[n] = true
			pr.short = append(pr.short, n)
		}
	}
	var buf [shortlistSize + 1]ranked
	for _, g := range pr.groups {
		for _, r := range lowest(buf[:0], g, notHot, predictedScore) {
			add(r.n)
		}
		for _, r := range lowest(buf[:0], g, cold, predictedScore) {
			add(r.n)
		}
		for _, r := range lowest(buf[:0], g, notHot, requestedFraction) {
			add(r.n)
		}
	}
	sort.Slice(pr.short, func(i, j int) bool { return pr.short[i].name < pr.short[j].name })
}

func notHot(n *nodeInfo) bool { return n.state.Class != scoring.Hot }

func cold(n *nodeInfo) bool { return n.state.Class == scoring.Cold }

func predictedScore(n *nodeInfo) float64 { return n.predicted }

func requestedFraction(n *nodeInfo) float64 {
	var f float64
	if n.alloc.MilliCPU > 0 {
		f += float64(n.load.Requested.MilliCPU) / float64(n.alloc.MilliCPU)
	}
	if n.alloc.Memory > 0 {
		f += float64(n.load.Requested.Memory) / float64(n.alloc.Memory)
	}
	return f / 2
}

type ranked struct {
	n *nodeInfo
	k float64
}

// lowest fills best with the shortlistSize nodes of g that pass keep with the lowest key (ties by
// name).
func lowest(best []ranked, g []*nodeInfo, keep func(*nodeInfo) bool, key func(*nodeInfo) float64) []ranked {
	for _, n := range g {
		if !keep(n) {
			continue
		}
		k := key(n)
		if len(best) == shortlistSize && !less(k, n.name, best[len(best)-1].k, best[len(best)-1].n.name) {
			continue
		}
		i := sort.Search(len(best), func(i int) bool { return less(k, n.name, best[i].k, best[i].n.name) })
		if len(best) < shortlistSize {
			best = append(best, ranked{})
		}
		copy(best[i+1:], best[i:len(best)-1])
		best[i] = ranked{n, k}
	}
	return best
}

func less(k1 float64, n1 string, k2 float64, n2 string) bool {
	if k1 != k2 {
		return k1 < k2
	}
	return n1 < n2
}

// predict returns the node the candidate's replacement lands on, or nil when no node fits.
func (pr *predictor) predict(c *proposal) *nodeInfo {
	var best *nodeInfo
	var bestScore int64 = -1
	consider := func(n *nodeInfo) {
		if !n.fits(c.pod) {
			return
		}
		s := pr.score(c, n)
		if s > bestScore || (s == bestScore && n.name < best.name) {
			best, bestScore = n, s
		}
	}
	for _, n := range pr.short {
		consider(n)
	}
	if !pr.mark[c.node] {
		consider(c.node)
	}
	if best == nil {
		for _, n := range pr.scope {
			if !pr.mark[n] && n != c.node {
				consider(n)
			}
		}
	}
	return best
}

// score is the fast model's guess at the score the scheduler that places the replacement gives
// node n, used only to rank candidates (the placement engine confirms every move): the shared
// placement score for pods of a secondary scheduler (the Rebalancer's), a model of
// kube-scheduler's default scoring for the default scheduler.
func (pr *predictor) score(c *proposal, n *nodeInfo) int64 {
	if s := c.pod.SchedulerName; s != "" && s != corev1.DefaultSchedulerName {
		pod := scoring.PlacementPod{Usage: c.usage, Profile: c.profile}
		return scoring.PlacementScore(&n.place, &pod, pr.w, pr.pw)
	}
	return scoring.DefaultSchedulerScore(n.load.Requested, c.pod.Requests.NonZero(), n.alloc)
}
