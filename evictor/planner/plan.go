package planner

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// proposal is a candidate with what selection needs: its node, expected usage, placement constraints
// and, once evaluated, its predicted destination and sigma drop.
type proposal struct {
	candidate
	// podRef is candidate.ref(), kept here: the candidates held back by the cycle limit are
	// reported without reading their pods again.
	podRef  PodRef
	node    *nodeInfo
	usage   scoring.Resources
	profile scoring.Profile

	dest *nodeInfo
	// srcNew and dstNew are the scores of the source and the destination after the move,
	// srcNewP and dstNewP their pressures.
	srcNew, dstNew   float64
	srcNewP, dstNewP float64
	after            float64
	drop             float64
	version          int
	// confirmed is the version at which the placement engine confirmed dest, -1 before; pred is
	// what it predicted.
	confirmed int
	possible  []string // the nodes the scheduler may pick (placement.Prediction.Possible)
	// missChance is the chance the scheduler puts the replacement on an unacceptable node
	// (placement.Prediction.MissChance), when it samples.
	missChance float64
	// steered is true when the pod's scheduler follows the evictor's steer to dest.
	steered bool
}

// Plan decides which pods to evict in this cycle. It is deterministic: the same inputs give the
// same plan. It works in four steps: classify the nodes, collect the candidates on hot nodes,
// select the moves, and report the nodes.
func Plan(s Snapshot, policy *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, st State, now time.Time) Result {
	res := Result{Time: now, State: carriedState(&s, st, now)}
	cfg, err := Resolve(policy, s.PriorityClasses)
	if err != nil {
		var b Blocker
		if !errors.As(err, &b) {
			b = invalid(v1alpha1.ReasonInvalid, "%v", err)
		}
		res.Blockers = append(res.Blockers, b)
		return res
	}
	res.DryRun, res.NotHotDestinations = cfg.DryRun, !cfg.ColdDestinations

	cl := buildCluster(&s, &cfg, st, now)
	res.Excluded = cl.excluded
	if len(cl.scope) == 0 {
		if cl.selected > 0 {
			res.Blockers = append(res.Blockers, Blocker{Condition: v1alpha1.ConditionMetricsAvailable, Reason: v1alpha1.ReasonMetricsStale,
				Message: fmt.Sprintf("no fresh usage reading for any of the %d nodes the policy selects (staleAfter %s): nothing is evicted", cl.selected, cfg.StaleAfter)})
		}
		return res
	}
	spread := classify(cl, &cfg, &res)
	res.SigmaBefore = spread.Sigma()

	sel := &moveSelection{s: &s, cfg: &cfg, cl: cl, res: &res, spread: spread, now: now,
		elig: newEligibility(&s, cfg, policy, slos, st, now, cl.replicas), pr: newPredictor(cl.scope, cfg.Weights)}
	if s.Placement != nil {
		sel.cf = &confirmer{engine: s.Placement, s: &s, cl: cl, cfg: &cfg, now: now, every: s.Placement.ScoringEveryNode(len(cl.nodes))}
		defer sel.cf.close()
	}
	movable := sel.collect()
	res.LowerBound = lowerBound(cl.scope, movable, cfg.Weights)
	sel.selectMoves()
	res.SigmaAfter = spread.Sigma()
	report(cl, &res)
	deferOutsideWindows(&cfg, &res, now)
	return res
}

// deferOutsideWindows holds every planned move back when the policy has disruption windows and
// none is open at now: the plan is still reported, nothing is evicted.
func deferOutsideWindows(cfg *Config, res *Result, now time.Time) {
	if cfg.Windows.Always() {
		return
	}
	w := cfg.Windows.At(now)
	res.Window = &w
	if w.Open || len(res.Moves) == 0 {
		return
	}
	for _, m := range res.Moves {
		res.HeldBack = append(res.HeldBack, HeldBack{Pod: m.Pod, Node: m.From, Reasons: []Reason{*reason(ReasonOutsideWindow,
			"no disruption window is open (%s); would move it from %s to %s (sigma %.4f -> %.4f)", w.Next(), m.From, m.To, m.SigmaBefore, m.SigmaAfter)}})
	}
	res.Deferred, res.Moves = res.Moves, nil
}

// carriedState is what the planner carries into this cycle: backoffs that have not expired and
// the classification of the nodes that still exist.
func carriedState(s *Snapshot, st State, now time.Time) State {
	out := State{Nodes: map[string]scoring.NodeState{}, Backoff: map[WorkloadKey]Backoff{}}
	for k, b := range st.Backoff {
		if now.Before(b.Until) {
			out.Backoff[k] = b
		}
	}
	for _, n := range s.Nodes {
		if ns, ok := st.Nodes[n.Name]; ok {
			out.Nodes[n.Name] = ns
		}
	}
	return out
}

// classify classifies each node with hysteresis (its own thresholds, the policy's margin and
// readings) and returns the spread of the nodes' scores.
func classify(cl *cluster, cfg *Config, res *Result) *scoring.Spread {
	scores := make([]float64, len(cl.scope))
	for i, n := range cl.scope {
		h := cfg.Hysteresis
		h.Hot, h.Cold = n.hot, n.cold
		n.cool = n.hot - h.Margin
		n.state = h.Classify(n.state, n.pressure, n.score)
		n.place.Hot = n.state.Class == scoring.Hot
		n.place.Cold = n.state.Class == scoring.Cold
		res.State.Nodes[n.name] = n.state
		scores[i] = n.score
		switch n.state.Class {
		case scoring.Hot:
			res.HotNodes++
		case scoring.Cold:
			res.ColdNodes++
		}
	}
	spread := scoring.NewSpread(scores)
	return &spread
}

// moveSelection chooses the plan's moves among the candidates on hot nodes: a heap ranks them by
// the sigma drop the fast model predicts, the eligibility rules run again whenever an earlier
// move changed budgets and loads, and the placement engine confirms each move before it enters.
type moveSelection struct {
	s      *Snapshot
	cfg    *Config
	cl     *cluster
	res    *Result
	spread *scoring.Spread
	now    time.Time
	elig   *Eligibility
	pr     *predictor
	cf     *confirmer // nil without a placement engine
	heap   proposalHeap
	// version counts the moves taken; a candidate evaluated at an older version is evaluated again.
	version int
	// doubted are the candidates the fast model holds back on where their replacement lands
	// (modelsDestination), each with the model's reason. The model is a guess at the scheduler,
	// so the engine has the last word on them too, but only once the candidates the model lets
	// through are planned (recheck): the engine's runs a cycle are bounded (maxPredictions), and
	// a run spent overruling the model is one not spent confirming a move. Once the model
	// shortlists cold nodes it is rarely overruled: over the first 30 cycles of the benchmark's
	// 200-node mixed cluster with 30% hot, in 3 of the 1,068 runs on its rejections, which took
	// the cycles' runs while 7,744 candidates were left unconfirmed.
	doubted []doubt
	recheck bool
	// receivers are the nodes a move may send a replacement to (receives), set for the second
	// pass.
	receivers []*nodeInfo
	cds       []candidate // collect's buffer
}

// doubt is a candidate the fast model holds back, and why.
type doubt struct {
	c *proposal
	r Reason
}

// collect checks every pod on a hot node against the eligibility rules, holds back those that
// fail, and puts the others on the heap. It returns every candidate the rules let go, with or
// without a destination (the lower bound counts them).
func (sel *moveSelection) collect() []*proposal {
	cl, res, cfg := sel.cl, sel.res, sel.cfg
	onHot := 0
	for _, n := range cl.scope {
		if n.state.Class == scoring.Hot {
			onHot += len(n.pods)
		}
	}
	res.HeldBack = make([]HeldBack, 0, onHot)
	movable := make([]*proposal, 0, onHot)
	sel.heap = make(proposalHeap, 0, onHot)
	bound := newDropBound(cl.scope)
	var slab []proposal // candidates are allocated in chunks
	for _, n := range cl.scope {
		if n.state.Class != scoring.Hot {
			continue
		}
		// The node's pods are in the snapshot's order, which the plan does not depend on: the
		// heap orders the candidates fully, and those held back are sorted by name below.
		held := len(res.HeldBack)
		// First what each pod's shape shares, for all of the node's pods, then the rules: the
		// reads of the pods and their shapes (most of a plan's time in a large cluster) do not
		// wait on one another.
		cds := sel.cds[:0]
		for _, p := range n.pods {
			cds = append(cds, candidate{pod: p, shape: sel.elig.shapeInfo(p)})
		}
		sel.cds = cds
		first := len(movable)
		for i := range cds {
			cd := &cds[i]
			if rs := sel.elig.check(cd); len(rs) > 0 {
				res.HeldBack = append(res.HeldBack, HeldBack{Pod: cd.ref(), Node: n.name, Reasons: rs})
				continue
			}
			if len(slab) == cap(slab) {
				slab = make([]proposal, 0, 256)
			}
			slab = append(slab, proposal{candidate: *cd, podRef: cd.ref(), node: n, confirmed: -1, profile: cd.shape.profile})
			movable = append(movable, &slab[len(slab)-1])
		}
		// Then their usage readings, for the same reason.
		for _, c := range movable[first:] {
			c.usage = podUsage(c.pod, sel.s, n, cfg.StaleAfter, sel.now)
		}
		for _, c := range movable[first:] {
			if bound.ok {
				// Ranked by the most the move could buy; its destination is predicted only if it
				// comes to the top (version -1: not evaluated yet).
				c.drop, c.version = bound.drop(c, sel.spread, cfg.Weights), -1
				sel.heap = append(sel.heap, c)
				continue
			}
			if r := evaluate(c, sel.pr, sel.spread, cfg); r != nil {
				if sel.cf == nil || !modelsDestination(r) {
					res.hold(c, *r)
					continue
				}
				// The engine has the last word on where it lands, when it comes to the top.
				c.drop, c.version = math.Inf(-1), -1
			}
			sel.heap = append(sel.heap, c)
		}
		// Sorted here rather than the node's pods before: the entries hold the names, so the
		// comparisons do not read the pods again.
		slices.SortFunc(res.HeldBack[held:], compareHeldBack)
	}
	heap.Init(&sel.heap) // one O(n) build instead of a push per candidate
	return movable
}

// selectMoves plans the cycle's moves in two passes over the candidates (drain): the first
// plans those the fast model lets through and sets aside those it holds back on where their
// replacement lands (doubted); the second gives the doubted to the placement engine, which
// overrules the model when the scheduler would put the replacement on an acceptable node, as
// long as the cycle has moves and engine runs left.
func (sel *moveSelection) selectMoves() {
	sel.drain()
	if len(sel.doubted) == 0 {
		return
	}
	doubted := sel.doubted
	sel.doubted, sel.recheck = nil, true
	for _, n := range sel.cl.scope {
		if sel.receives(n) {
			sel.receivers = append(sel.receivers, n)
		}
	}
	if n := len(sel.res.Moves); n >= sel.cfg.MaxPerCycle {
		for _, d := range doubted {
			sel.res.hold(d.c, *reason(d.r.Code, "by the planner's fast model, not confirmed (the cycle's %d moves were planned first): %s", n, d.r.Message))
		}
		return
	}
	for _, d := range doubted {
		// Ranked again by the drop it was set aside with, and evaluated again when it comes to
		// the top: the moves planned since changed the loads.
		d.c.version = -1
		sel.heap = append(sel.heap, d.c)
	}
	heap.Init(&sel.heap)
	sel.drain()
}

// drain takes the best candidate from the heap until it is empty: it holds it back at a limit,
// evaluates it again after an earlier move, confirms its destination, and takes it.
func (sel *moveSelection) drain() {
	cfg, res, h := sel.cfg, sel.res, &sel.heap
	// One reason shared by every candidate the cycle limit holds back (capped: an append copies).
	cycleLimit := []Reason{*reason(ReasonCycleLimit, "rate limit: %d evictions per cycle already planned", cfg.MaxPerCycle)}
	for h.Len() > 0 {
		if len(res.Moves) >= cfg.MaxPerCycle {
			// Every candidate left is held back by the cycle limit. Sorting them once gives the
			// order popping them one by one would (the heap's order is total), at a fraction of
			// the cost: in a large cluster tens of thousands are left.
			// The drops are copied next to the pointers first: the comparisons then read one
			// array, not tens of thousands of candidates scattered in memory.
			rest := make([]rankedProposal, len(*h))
			for i, c := range *h {
				rest[i] = rankedProposal{c.drop, c}
			}
			slices.SortFunc(rest, func(a, b rankedProposal) int {
				if a.drop != b.drop {
					return cmp.Compare(b.drop, a.drop)
				}
				return compareProposals(a.c, b.c)
			})
			for _, r := range rest {
				res.hold(r.c, cycleLimit...)
			}
			*h = (*h)[:0]
			break
		}
		c := heap.Pop(h).(*proposal)
		switch {
		case c.node.evicted >= cfg.MaxPerNodeCycle:
			res.hold(c, *reason(ReasonNodeCycleLimit, "rate limit: %d evictions from node %s already planned this cycle", cfg.MaxPerNodeCycle, c.node.name))
			continue
		case !c.node.hotAt(c.node.predictedP):
			res.hold(c, *reason(ReasonNodeCleared, "node %s's busiest resource is predicted at %.3f after the planned moves, under %.2f where it stops being hot (hot threshold %.2f - margin)",
				c.node.name, c.node.predictedP, c.node.cool, c.node.hot))
			continue
		}
		if c.version != sel.version {
			// Earlier moves spent budgets and changed loads: check and predict again.
			if rs := sel.elig.check(&c.candidate); len(rs) > 0 {
				res.hold(c, rs...)
				continue
			}
			r := evaluate(c, sel.pr, sel.spread, cfg)
			if r != nil && sel.cf != nil && modelsDestination(r) {
				switch {
				case !sel.recheck:
					sel.doubted = append(sel.doubted, doubt{c, *r})
					continue
				case sel.anyReceiver(c):
					r = sel.overrule(c, r)
				default:
					r = reason(r.Code, "by the planner's fast model, and no node %s fits it, so no scheduler could overrule it: %s", sel.receiverKind(), r.Message)
				}
			}
			if r != nil {
				res.hold(c, *r)
				continue
			}
			c.version = sel.version
			heap.Push(h, c)
			continue
		}
		if sel.cf != nil && c.confirmed != sel.version {
			// The fast model ranked it first: the scheduler's own framework has the last word on
			// where the replacement lands, and with it on the sigma drop.
			if r := sel.cf.confirm(c, sel.spread, sel.version); r != nil {
				res.hold(c, *r)
				continue
			}
			c.confirmed = sel.version
			if h.Len() > 0 && (*h)[0].drop > c.drop {
				heap.Push(h, c)
				continue
			}
		}
		if c.drop < cfg.MinSigmaGain {
			res.hold(c, *reason(ReasonTooLittleGain, "predicted sigma drop %.4f is below minSigmaImprovement %.4f", c.drop, cfg.MinSigmaGain))
			continue
		}
		sel.take(c)
	}
}

// take puts the move in the plan and applies it to the plan's view of the cluster.
func (sel *moveSelection) take(c *proposal) {
	if sel.cf != nil {
		if err := sel.cf.apply(c); err != nil {
			sel.res.hold(c, *reason(ReasonPlacementError, "%v", err))
			return
		}
	}
	spread := sel.spread
	sel.res.Moves = append(sel.res.Moves, Move{
		Pod: c.podRef, Workload: c.shape.workload, From: c.node.name, To: c.dest.name, Scheduler: schedulerOf(c.pod),
		Possible: c.possible, Confirmed: sel.cf != nil, SourceAfter: c.srcNew, MissChance: c.missChance, Steered: c.steered,
		SigmaBefore: spread.Sigma(), SigmaAfter: c.after, Stateful: c.shape.stateful, SLOs: sloKeys(c.shape.slos),
		Reason: Reason{Code: ReasonLowersSigma, Message: fmt.Sprintf("node %s is hot (busiest resource at %.3f, stops being hot under %.2f); moving lowers sigma by %.4f, the most of any candidate",
			c.node.name, c.node.predictedP, c.node.cool, c.drop)},
	})
	spread.Apply(c.node.predicted, c.srcNew, c.dest.predicted, c.dstNew)
	c.node.predicted, c.dest.predicted = c.srcNew, c.dstNew
	c.node.predictedP, c.dest.predictedP = c.srcNewP, c.dstNewP
	c.node.place.Usage = c.node.place.Usage.Sub(c.usage)
	c.dest.place.Usage = c.dest.place.Usage.Add(c.usage)
	c.dest.load.Requested = c.dest.load.Requested.Add(c.pod.Requests)
	c.dest.load.Pods++
	c.node.evicted++
	sel.elig.record(&c.candidate)
	sel.pr.rebuild()
	sel.version++
}

// report says whether the plan clears every hot node and lists each node as the plan saw it.
func report(cl *cluster, res *Result) {
	res.ClearsHotNodes = true
	for _, n := range cl.scope {
		if n.state.Class == scoring.Hot && n.hotAt(n.predictedP) {
			res.ClearsHotNodes = false
		}
		u := scoring.Utilize(scoring.ToReference(scoring.Resources{CPU: n.sample.MilliCPU, Memory: n.sample.Memory}, n.factor), n.place.Capacity)
		className := ""
		if n.class != nil {
			className = n.class.name
		}
		res.Nodes = append(res.Nodes, NodeReport{Name: n.name, NodeClass: className, CPU: u.CPU, Memory: u.Memory, Score: n.score,
			PredictedScore: n.predicted, State: n.state, HotThreshold: n.hot, ColdThreshold: n.cold})
	}
}

// receives reports whether a move may send a replacement to n (confirmer.acceptable): a node the
// policy balances that is not hot, and cold when the policy's destinations are Cold.
func (sel *moveSelection) receives(n *nodeInfo) bool {
	return n.inScope && n.state.Class != scoring.Hot && (!sel.cfg.ColdDestinations || n.state.Class == scoring.Cold)
}

func (sel *moveSelection) receiverKind() string {
	if sel.cfg.ColdDestinations {
		return "that is cold (the policy's destinations)"
	}
	return "that is not hot"
}

// anyReceiver reports whether some node a move may send c's replacement to fits it by the
// planner's own feasibility check and stays below where it would be hot with it. The placement
// engine is asked to overrule the fast model only then: fits checks what the scheduler's filters
// check of resources, taints, node selectors and cordons, so a node it rejects the scheduler
// would not pick either (save a NotReady node that lacks its taint, which no move goes to), and
// when no node passes it a framework run could only hold the candidate back again. On a mixed
// cluster whose cold nodes were all filled, that asked the engine for every candidate of every
// cycle, as many times as a cycle allows.
func (sel *moveSelection) anyReceiver(c *proposal) bool {
	for _, n := range sel.receivers {
		if n != c.node && !n.hotAt(sel.cfg.Weights.Pressure(n.place.Usage.Add(c.usage), n.place.Capacity)) && n.fits(c.pod) {
			return true
		}
	}
	return false
}

// overrule asks the placement engine about a candidate the fast model holds back with r, a
// verdict on where the replacement lands: the model is not the last word, since kube-scheduler's
// ties and sampling, and plugins the model does not run, may send the replacement to an
// acceptable node (confirm). Only when the engine has run as often as a cycle allows
// (ConfirmationLimit) does the model's verdict stand, said to be the model's.
func (sel *moveSelection) overrule(c *proposal, r *Reason) *Reason {
	cr := sel.cf.confirm(c, sel.spread, sel.version)
	switch {
	case cr == nil:
		c.confirmed = sel.version
		return nil
	case cr.Code == ReasonConfirmationLimit:
		sel.res.Unconfirmed++
		return reason(r.Code, "by the planner's fast model, not confirmed (%s): %s", cr.Message, r.Message)
	}
	return cr
}

// modelsDestination reports whether r is a verdict on where the replacement lands (no feasible
// node, back on its own node, on a hot node, on a node that is not cold, turning its destination
// hot), which the fast model gives only as a guess.
func modelsDestination(r *Reason) bool {
	switch r.Code {
	case ReasonNoDestination, ReasonLandsOnSameNode, ReasonLandsOnHotNode, ReasonDestinationNotCold, ReasonDestinationTurnsHot:
		return true
	}
	return false
}

// evaluate predicts the candidate's destination and the sigma after the move, or says why the
// move buys nothing.
func evaluate(c *proposal, pr *predictor, spread *scoring.Spread, cfg *Config) *Reason {
	dest := pr.predict(c)
	switch {
	case dest == nil:
		return reason(ReasonNoDestination, "no feasible destination among the policy's nodes")
	case dest == c.node:
		return reason(ReasonLandsOnSameNode, "buys nothing: the %s would place the replacement back on %s", schedulerOf(c.pod), dest.name)
	case dest.state.Class == scoring.Hot:
		return reason(ReasonLandsOnHotNode, "buys nothing: the %s would place the replacement on %s, another hot node", schedulerOf(c.pod), dest.name)
	case cfg.ColdDestinations && dest.state.Class != scoring.Cold:
		return reason(ReasonDestinationNotCold, "the %s would place the replacement on %s, which is not cold (the policy's destinations are Cold)", schedulerOf(c.pod), dest.name)
	}
	return c.setDest(dest, spread, cfg)
}

// dropBound bounds from above the sigma drop any move off a hot node can buy, before its
// destination is predicted: the destination's score is at least the lowest predicted score of a
// node that is not hot, and the replacement adds to it between the pod's share of the largest and
// of the smallest capacity among those nodes (Spread.SigmaAfterAtLeast). Selection is lazy: a
// candidate is ranked by this bound and its destination predicted only when it reaches the top,
// then ranked again by its predicted drop, so only the few candidates that could be chosen are
// predicted. ok is false when no bound holds (no node could receive, or one has no capacity of
// a resource): every candidate is then predicted up front.
type dropBound struct {
	ok             bool
	bMin           float64
	capMin, capMax scoring.Resources
}

func newDropBound(scope []*nodeInfo) dropBound {
	b := dropBound{bMin: math.Inf(1), capMin: scoring.Resources{CPU: math.Inf(1), Memory: math.Inf(1)}}
	for _, n := range scope {
		if n.state.Class == scoring.Hot {
			continue
		}
		c := n.place.Capacity
		if c.CPU <= 0 || c.Memory <= 0 {
			return dropBound{}
		}
		b.ok = true
		b.bMin = min(b.bMin, n.predicted)
		b.capMin = scoring.Resources{CPU: min(b.capMin.CPU, c.CPU), Memory: min(b.capMin.Memory, c.Memory)}
		b.capMax = scoring.Resources{CPU: max(b.capMax.CPU, c.CPU), Memory: max(b.capMax.Memory, c.Memory)}
	}
	return b
}

// drop is the most sigma can fall by moving c off its node:
//
//	delta in [Score(usage / capMax), Score(usage / capMin)]   (a destination's score increase)
//	drop <= sigma - SigmaAfterAtLeast(source now, source without the pod, bMin, deltas)
func (b dropBound) drop(c *proposal, sp *scoring.Spread, w scoring.Weights) float64 {
	srcNew := w.NodeScore(c.node.place.Usage.Sub(c.usage), c.node.place.Capacity)
	dMin, dMax := w.NodeScore(c.usage, b.capMax), w.NodeScore(c.usage, b.capMin)
	return sp.Sigma() - sp.SigmaAfterAtLeast(c.node.predicted, srcNew, b.bMin, dMin, dMax)
}

// lowerBound is the fewest evictions that could make every hot node stop being hot, that is bring
// every weighted resource of it under cool = hot threshold - hysteresis margin (hot is decided on
// the busiest one): for each hot node and each weighted resource, the fewest of its movable pods
// (those the eligibility rules let go, whether or not a destination takes them now), largest
// first, whose usage of the resource covers the excess; the node needs the most of these over its
// resources, and LB sums that over the hot nodes:
//
//	share_r(pod) = pod usage_r / node capacity_r
//	k_r(node)    = min k such that the k largest share_r sum to more than u_r(node) - cool
//	LB           = sum over hot nodes of max over weighted r of k_r(node)
//
// A node its movable pods cannot clear counts all of them.
//
// movable holds each node's candidates together, the nodes in scope order (collect makes it so).
func lowerBound(scope []*nodeInfo, movable []*proposal, w scoring.Weights) int {
	fewest := func(s []float64, excess float64) int {
		if excess <= 0 {
			return 0
		}
		slices.Sort(s)
		var sum float64
		k := 0
		for i := len(s) - 1; i >= 0; i-- { // largest first
			sum += s[i]
			k++
			if sum > excess {
				break
			}
		}
		return k
	}
	var cpu, mem []float64
	lb, j := 0, 0
	for _, n := range scope {
		cpu, mem = cpu[:0], mem[:0]
		for ; j < len(movable) && movable[j].node == n; j++ {
			u := scoring.Utilize(movable[j].usage, n.place.Capacity)
			cpu, mem = append(cpu, u.CPU), append(mem, u.Memory)
		}
		if n.state.Class != scoring.Hot || !n.hotAt(n.pressure) {
			continue
		}
		u := scoring.Utilize(n.place.Usage, n.place.Capacity)
		unweighted := w.CPU <= 0 && w.Memory <= 0 // Pressure then takes both
		k := 0
		if w.CPU > 0 || unweighted {
			k = max(k, fewest(cpu, u.CPU-n.cool))
		}
		if w.Memory > 0 || unweighted {
			k = max(k, fewest(mem, u.Memory-n.cool))
		}
		lb += k
	}
	if j != len(movable) {
		panic("planner: lowerBound's candidates are not grouped by node in scope order")
	}
	return lb
}

func (res *Result) hold(c *proposal, rs ...Reason) {
	res.HeldBack = append(res.HeldBack, HeldBack{Pod: c.podRef, Node: c.node.name, Reasons: rs})
}

// schedulerOf is the name of the scheduler that places the pod's replacement.
func schedulerOf(p *Pod) string {
	if p.SchedulerName == "" {
		return corev1.DefaultSchedulerName
	}
	return p.SchedulerName
}

// comparePodRefs orders pods by namespace, then name (then UID, unique in one snapshot).
func comparePodRefs(a, b *PodRef) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(string(a.UID), string(b.UID))
}

func compareHeldBack(a, b HeldBack) int { return comparePodRefs(&a.Pod, &b.Pod) }

func sloKeys(slos []*sloInfo) []string {
	if len(slos) == 0 {
		return nil
	}
	out := make([]string, len(slos))
	for i, s := range slos {
		out[i] = s.key
	}
	return out
}

// rankedProposal is a candidate with its drop, to sort many candidates.
type rankedProposal struct {
	drop float64
	c    *proposal
}

// proposalHeap orders candidates by predicted sigma drop, largest first, then by pod name.
type proposalHeap []*proposal

func (h proposalHeap) Len() int           { return len(h) }
func (h proposalHeap) Less(i, j int) bool { return compareProposals(h[i], h[j]) < 0 }

// compareProposals orders two candidates as the heap pops them: the larger predicted sigma drop
// first, then by pod name.
func compareProposals(a, b *proposal) int {
	if a.drop != b.drop {
		if a.drop > b.drop {
			return -1
		}
		return 1
	}
	return comparePodRefs(&a.podRef, &b.podRef) // the candidates' own copies: no read of the pods
}
func (h proposalHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *proposalHeap) Push(x any)   { *h = append(*h, x.(*proposal)) }
func (h *proposalHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
