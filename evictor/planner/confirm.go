package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// confirmer confirms each move before it enters the plan: the placement engine runs the pod's
// real scheduler over the cluster as the plan has changed it so far and returns every node the
// replacement may land on; the move stands only if each of them is an acceptable destination.
// The fast model (predictor) only ranks candidates. The engine's session opens at the first
// confirmation, so a plan with nothing to move never builds the scheduler's snapshot.
type confirmer struct {
	engine *placement.Engine
	s      *Snapshot
	cl     *cluster
	cfg    *Config
	now    time.Time
	sess   *placement.Session
	err    error
	// memo and predictions: see predict.
	memo        map[predictKey]placement.Prediction
	predictions int
	// drawn are the nodes earlier moves of the plan may have sent replacements to (interacts).
	drawn map[string]bool
	// tbl is RebalancerNodeClassFit's input in the session.
	tbl *placement.Table
}

func (cf *confirmer) session() (*placement.Session, error) {
	if cf.sess != nil || cf.err != nil {
		return cf.sess, cf.err
	}
	pods := make([]placement.Pod, 0, len(cf.s.Pods))
	for _, p := range cf.s.Pods {
		if p.NodeName != "" && holdsResources(p) {
			pods = append(pods, p)
		}
	}
	cf.sess, cf.err = cf.engine.Open(cf.s.Nodes, pods, cf.table())
	if cf.err != nil {
		cf.err = fmt.Errorf("opening the placement engine's session: %w", cf.err)
	}
	return cf.sess, cf.err
}

// table is RebalancerNodeClassFit's input, the same the scheduler's plugin builds: the nodes the
// policy balances as the plan sees them (its classification, usage updated by each move), and
// each controller's mean usage from the pods with a fresh reading.
func (cf *confirmer) table() *placement.Table {
	t := &placement.Table{Nodes: make(map[string]*scoring.PlacementNode, len(cf.cl.scope)), Weights: cf.cfg.Weights}
	for _, n := range cf.cl.scope {
		// A copy: the scheduler's plugin does not see the plan's predicted usage, only the
		// reading and the pods placed since (apply).
		pn := n.place
		t.Nodes[n.name] = &pn
	}
	cf.tbl = t
	var owners placement.OwnerUsage
	for _, p := range cf.s.Pods {
		if p.Owner == nil || p.NodeName == "" {
			continue
		}
		smp, ok := cf.s.Usage.Pods[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]
		if !ok || cf.now.Sub(smp.Time) > cf.cfg.StaleAfter {
			continue
		}
		factor := 1.0
		if ni := cf.cl.byName[p.NodeName]; ni != nil {
			factor = ni.factor
		}
		owners.Add(p.Owner.UID, smp.MilliCPU, smp.Memory, factor)
	}
	t.Owners = owners.Means()
	return t
}

// predictKey identifies a replacement's prediction within a plan: the replicas of one shape with
// the same requests are the same pod to the scheduler, and until a move changes the cluster
// (version) it places them alike, so one prediction serves them all.
type predictKey struct {
	shape    *Shape
	requests scoring.Requests
	// node the evicted pod leaves: it is terminating there while its replacement is placed.
	node    string
	version int
}

// maxPredictions bounds the framework runs of one plan beyond its per-cycle moves; candidates
// past it are held back (ConfirmationLimit) rather than make a cycle take seconds.
func (cf *confirmer) maxPredictions() int { return 20 + 4*cf.cfg.MaxPerCycle }

func (cf *confirmer) predict(c *proposal, version int) (placement.Prediction, *Reason) {
	key := predictKey{shape: c.pod.Shape, requests: c.pod.Requests, node: c.node.name, version: version}
	if p, ok := cf.memo[key]; ok {
		return p, nil
	}
	if cf.predictions >= cf.maxPredictions() {
		return placement.Prediction{}, reason(ReasonConfirmationLimit, "the placement engine already ran %d times this cycle: the move is not confirmed", cf.predictions)
	}
	sess, err := cf.session()
	if err != nil {
		return placement.Prediction{}, reason(ReasonPlacementError, "%v", err)
	}
	cf.predictions++
	// kube-scheduler places the replacement while the evicted pod is terminating: its requests
	// still count on its node, the plugins that skip terminating pods no longer see it.
	restore, err := sess.Evicting(context.Background(), c.pod.SchedulingPod(), cf.now)
	if err != nil {
		return placement.Prediction{}, reason(ReasonPlacementError, "%v", err)
	}
	p, err := sess.Predict(context.Background(), c.pod.Replacement())
	if rerr := restore(); rerr != nil && err == nil {
		err = rerr
	}
	switch {
	case errors.Is(err, placement.ErrUnknownScheduler):
		return p, reason(ReasonUnknownScheduler, "the pod's scheduler %q is not one the evictor places pods for (%s): where its replacement lands cannot be confirmed",
			c.pod.SchedulerName, strings.Join(cf.engine.Schedulers(), ", "))
	case err != nil:
		return p, reason(ReasonPlacementError, "%v", err)
	}
	if cf.memo == nil {
		cf.memo = map[predictKey]placement.Prediction{}
	}
	cf.memo[key] = p
	return p, nil
}

func (cf *confirmer) close() {
	if cf.sess != nil {
		cf.sess.Close()
	}
}

// confirm predicts where the candidate's replacement lands and sets its destination to the worst
// acceptable node of that set for sigma (the scheduler may pick any). The replacement is placed
// while the evicted pod still holds its requests on its node: its controller creates it as soon
// as the eviction marks the pod terminating, and kube-scheduler counts a terminating pod until it
// is gone. It returns why the move cannot stand otherwise.
func (cf *confirmer) confirm(c *proposal, spread *scoring.Spread, version int) *Reason {
	if c.pod.Spec != nil && len(c.pod.Spec.ResourceClaims) > 0 {
		return reason(ReasonResourceClaims, "the pod has resource claims (dynamic resource allocation), which the placement engine does not model: where its replacement lands cannot be confirmed")
	}
	pred, r := cf.predict(c, version)
	switch {
	case r != nil:
		return r
	case pred.Feasible == 0:
		return reason(ReasonNoDestination, "the %s finds no feasible node for the replacement: %s", pred.Scheduler, pred.Unschedulable)
	}
	if n := cf.interacts(pred); n != "" {
		return reason(ReasonAfterUncertainMove, "an earlier move of this cycle may send its replacement to any of several nodes, %s among them, where this replacement could go too: where it lands depends on that draw; planned again next cycle", n)
	}
	possible := pred.Possible
	c.possible = possible
	// A scheduler that follows steers puts the replacement on the node the evictor publishes
	// (placement.Steers): among acceptable tied nodes the plan takes the one that lowers sigma
	// most. Without a steer the scheduler may draw any of them: the plan counts on the one that
	// lowers sigma least. Either way every tied node must be acceptable, in case the steer is
	// not followed (a scheduler restarted since the eviction, an infeasible node).
	c.steered = !pred.Sampled && cf.engine.Steers(pred.Scheduler)
	var best *nodeInfo
	bestDrop := math.Inf(1)
	rejected := map[string]*Reason{}
	for _, name := range possible {
		n := cf.cl.byName[name]
		if r := cf.acceptable(c, n, name, spread); r != nil {
			rejected[name] = r
			continue
		}
		if better := c.drop < bestDrop; best == nil || better != c.steered {
			best, bestDrop = n, c.drop
		}
	}
	if len(rejected) > 0 {
		name, r := firstRejected(possible, rejected)
		if len(possible) == 1 {
			return r
		}
		c.missChance = pred.MissChance(func(n string) bool { return rejected[n] == nil })
		// Ties are known exactly: every tied node must do. A sample is a model of the draw: a
		// small chance of an unacceptable node is taken (MaxMissChance).
		if !pred.Sampled || best == nil || c.missChance > MaxMissChance {
			return cf.uncertain(pred, name, r, c.missChance)
		}
	}
	return c.setDest(best, spread, cf.cfg)
}

// interacts returns a node that an earlier move of this plan may have sent its replacement to
// (the scheduler could pick among several) and that this pod could use too, or "". The engine
// applied each earlier move to one node of its set; had the scheduler drawn another, this pod's
// scores would differ, and not only on those nodes (a node that got no pod can tie with the
// best). Rather than predict over every draw, such a move waits for the next cycle, when the
// earlier replacements have landed.
func (cf *confirmer) interacts(pred placement.Prediction) string {
	if len(cf.drawn) == 0 {
		return ""
	}
	for _, ns := range pred.Scores {
		if cf.drawn[ns.Node] {
			return ns.Node
		}
	}
	return ""
}

// MaxMissChance is the largest probability the planner accepts that a scheduler scoring a sample
// of the nodes (kube-scheduler's percentageOfNodesToScore, in clusters over 100 nodes) puts a
// replacement on a node that is not an acceptable destination (placement.Prediction.MissChance).
// Equal top scores, which kube-scheduler draws among, are never a chance taken: all must do.
const MaxMissChance = 0.05

func firstRejected(possible []string, rejected map[string]*Reason) (string, *Reason) {
	for _, n := range possible {
		if r := rejected[n]; r != nil {
			return n, r
		}
	}
	return "", nil
}

// acceptable says why node name is not an acceptable destination for c, or nil; for an acceptable
// node it leaves c's destination fields set to it.
func (cf *confirmer) acceptable(c *proposal, n *nodeInfo, name string, spread *scoring.Spread) *Reason {
	sched := schedulerOf(c.pod)
	switch {
	case n == c.node:
		return reason(ReasonLandsOnSameNode, "buys nothing: the %s would place the replacement back on %s", sched, name)
	case n == nil || !n.inScope:
		return reason(ReasonDestinationNotCold, "the %s would place the replacement on %s, a node the policy does not balance or has no fresh reading for", sched, name)
	case n.state.Class == scoring.Hot:
		return reason(ReasonLandsOnHotNode, "buys nothing: the %s would place the replacement on %s, another hot node", sched, name)
	case cf.cfg.ColdDestinations && n.state.Class != scoring.Cold:
		return reason(ReasonDestinationNotCold, "the %s would place the replacement on %s, which is not cold (the policy's destinations are Cold)", sched, name)
	}
	return c.setDest(n, spread, cf.cfg)
}

func (cf *confirmer) uncertain(pred placement.Prediction, name string, r *Reason, miss float64) *Reason {
	why := fmt.Sprintf("%d nodes share its top score", len(pred.Possible))
	if pred.Sampled {
		why = fmt.Sprintf("it scores a sample of %d of the %d feasible nodes (percentageOfNodesToScore), so it may pick any of %d; the chance of an unacceptable one is %.0f%%, above %.0f%%",
			pred.ToScore, pred.Feasible, len(pred.Possible), 100*miss, 100*MaxMissChance)
	}
	return reason(ReasonUncertainDestination, "the %s may place the replacement on any of several nodes (%s), and not on %s: %s", pred.Scheduler, why, name, r.Message)
}

// setDest sets c's destination and the scores and sigma after the move, or says why dest would
// turn hot.
func (c *proposal) setDest(dest *nodeInfo, spread *scoring.Spread, cfg *Config) *Reason {
	c.dest = dest
	c.srcNew = cfg.Weights.NodeScore(c.node.place.Usage.Sub(c.usage), c.node.place.Capacity)
	c.dstNew = cfg.Weights.NodeScore(dest.place.Usage.Add(c.usage), dest.place.Capacity)
	c.srcNewP = cfg.Weights.Pressure(c.node.place.Usage.Sub(c.usage), c.node.place.Capacity)
	c.dstNewP = cfg.Weights.Pressure(dest.place.Usage.Add(c.usage), dest.place.Capacity)
	if c.dstNewP >= dest.cool {
		return reason(ReasonDestinationTurnsHot, "the replacement would push %s's busiest resource to %.3f, within the margin of its hot threshold %.2f (at or above %.2f)", dest.name, c.dstNewP, dest.hot, dest.cool)
	}
	c.after = spread.SigmaAfter(c.node.predicted, c.srcNew, dest.predicted, c.dstNew)
	c.drop = spread.Sigma() - c.after
	return nil
}

// apply records an accepted move in the session: the pod leaves, its replacement lands on dest.
func (cf *confirmer) apply(c *proposal) error {
	if cf.sess == nil {
		return nil
	}
	if len(c.possible) > 1 && !c.steered {
		if cf.drawn == nil {
			cf.drawn = map[string]bool{}
		}
		for _, n := range c.possible {
			cf.drawn[n] = true
		}
	}
	// What the scheduler's plugin counts until the next reading: the evicted pod still in the
	// source's reading, the replacement at its requests on the destination (its lag rule).
	if pn := cf.tbl.Nodes[c.dest.name]; pn != nil {
		pn.Usage = pn.Usage.Add(placement.LagUsage(c.pod.Requests, c.dest.factor))
	}
	return cf.sess.Move(context.Background(), c.pod.SchedulingPod(), c.pod.Replacement(), c.dest.name)
}
