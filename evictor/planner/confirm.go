package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	// draws are the earlier moves of the plan whose replacement the scheduler may put on any of
	// several nodes (afterDraws); drawn is the union of their nodes, for the lookup per scored
	// node when a move cannot bound the draw.
	draws []draw
	drawn map[string]bool
	// tbl is RebalancerNodeClassFit's input in the session.
	tbl *placement.Table
	// every are the schedulers that score every node of this cluster (placement.Engine.
	// ScoringEveryNode), for the UncertainDestination message.
	every []string
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
	if n, scored := cf.waitsForSampledDraw(c); n != "" {
		return reason(ReasonAfterUncertainMove, "an earlier move of this cycle may send its replacement to any of several nodes, %s among them, and the %s scores a sample of %d nodes for this pod too: where this replacement lands depends on that draw; planned again next cycle",
			n, schedulerOf(c.pod), scored)
	}
	pred, r := cf.predict(c, version)
	switch {
	case r != nil:
		return r
	case pred.Feasible == 0:
		return reason(ReasonNoDestination, "the %s finds no feasible node for the replacement: %s", pred.Scheduler, pred.Unschedulable)
	}
	possible, stacked, n := cf.afterDraws(c, pred)
	if n != "" {
		return reason(ReasonAfterUncertainMove, "an earlier move of this cycle may send its replacement to any of several nodes, %s among them, and where this replacement lands depends on that draw: planned again next cycle", n)
	}
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
		if r := cf.stackedTurnsHot(c, n, stacked[name]); r != nil {
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

// draw is an earlier move of the plan whose replacement the scheduler may put on any node of
// possible (kube-scheduler draws among equal top scores, or scores a sample); the plan and the
// engine's session put it on to.
type draw struct {
	possible []string
	to       string
	usage    scoring.Resources
	pod      *Pod
}

// afterDraws returns the nodes c's replacement may land on once the earlier draws of the plan
// are taken into account, and the usage earlier replacements may add to each of them beyond what
// the plan counts there; or a node through which c depends on a draw in a way it cannot bound
// (then c waits for the next cycle, when the earlier replacements have landed).
//
// The engine applied each earlier draw to one node of its set. Had the scheduler picked another,
// that node would be worse for c and the one the plan used better; nothing else changes when c's
// scores on a node depend only on that node (no inter-pod affinity and no spread constraint of
// its own, no earlier drawn pod its default spreading can count, no normalization against the
// usage of other nodes: the default profile). Then, as long as c's top nodes outnumber the draws
// that may have taken one of them, a top node stays and the scheduler picks among c's top nodes
// and the nodes the plan put drawn replacements on; a top node that an earlier replacement may
// also take must stay acceptable with both (stacked). In any other case c depends on the draw
// wherever a drawn node is feasible for it.
func (cf *confirmer) afterDraws(c *proposal, pred placement.Prediction) (possible []string, stacked map[string]scoring.Resources, hold string) {
	if len(cf.draws) == 0 {
		return pred.Possible, nil, ""
	}
	if !cf.local(c, pred) {
		for _, ns := range pred.Scores {
			if cf.drawn[ns.Node] {
				return nil, nil, ns.Node
			}
		}
		return pred.Possible, nil, ""
	}
	set := map[string]bool{}
	for _, n := range pred.Possible {
		set[n] = true
	}
	worse := 0
	for _, d := range cf.draws {
		for _, n := range d.possible {
			if set[n] && n != d.to {
				worse++
				break
			}
		}
	}
	if worse >= len(pred.Possible) {
		return nil, nil, pred.Possible[0]
	}
	for _, d := range cf.draws {
		set[d.to] = true
	}
	possible = make([]string, 0, len(set))
	for n := range set {
		possible = append(possible, n)
	}
	slices.Sort(possible)
	for _, d := range cf.draws {
		for _, n := range d.possible {
			if n != d.to && set[n] {
				if stacked == nil {
					stacked = map[string]scoring.Resources{}
				}
				stacked[n] = stacked[n].Add(d.usage)
			}
		}
	}
	return possible, stacked, ""
}

// waitsForSampledDraw returns a drawn node of an earlier move that c's replacement may land on
// when c's scheduler would score a sample of the nodes for it, and the sample's size. Such a
// prediction is never local (afterDraws): c waits as soon as a drawn node is feasible for it.
// In a large cluster whose pods use the default scheduler the first move's draw spans thousands
// of nodes, and every later candidate would cost a framework run only to be held back; this
// asks the planner's own feasibility check instead (nodeInfo.fits), which can only hold a move
// back that the framework would have let through, never the reverse. "" when the framework must
// decide: no draw yet, a scheduler that scores every node here, or a pod that fits too few nodes
// to be sampled.
func (cf *confirmer) waitsForSampledDraw(c *proposal) (node string, toScore int) {
	if len(cf.draws) == 0 {
		return "", 0
	}
	toScore, ok := cf.engine.NodesToScore(c.pod.SchedulerName, len(cf.cl.nodes))
	if !ok || toScore >= len(cf.cl.nodes) {
		return "", 0
	}
	feasible := 0
	for _, n := range cf.cl.nodes {
		if n.fits(c.pod) {
			if feasible++; feasible > toScore {
				break
			}
		}
	}
	if feasible <= toScore {
		return "", 0
	}
	for _, d := range cf.draws {
		for _, name := range d.possible {
			if n := cf.cl.byName[name]; n != nil && n.fits(c.pod) {
				return name, toScore
			}
		}
	}
	return "", 0
}

// local reports whether c's scores on each node depend only on that node as far as the earlier
// draws go (afterDraws).
func (cf *confirmer) local(c *proposal, pred placement.Prediction) bool {
	if pred.Sampled || cf.engine.Steers(pred.Scheduler) || interPod(c.pod.Spec) || (c.pod.Spec != nil && len(c.pod.Spec.TopologySpreadConstraints) > 0) {
		return false
	}
	var spread labels.Selector // c's default spreading selector, read when a draw shares its namespace
	for _, d := range cf.draws {
		if interPod(d.pod.Spec) {
			return false
		}
		if d.pod.Namespace != c.pod.Namespace {
			continue
		}
		if spread == nil {
			spread = cf.engine.SpreadSelector(c.pod.SchedulingPod())
		}
		if !spread.Empty() && spread.Matches(labels.Set(d.pod.Labels)) {
			// kube-scheduler's default spreading counts d's replacement when it scores c's:
			// where d lands moves the scores of every node of its zone.
			return false
		}
	}
	return true
}

// interPod reports whether the spec has inter-pod affinity or anti-affinity terms.
func interPod(spec *corev1.PodSpec) bool {
	if spec == nil {
		return false
	}
	a := spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

// stackedTurnsHot says why n is not an acceptable destination for c once extra, the usage an
// earlier drawn replacement may add to it, is counted too; nil when it stays below the margin
// of its hot threshold.
func (cf *confirmer) stackedTurnsHot(c *proposal, n *nodeInfo, extra scoring.Resources) *Reason {
	if extra == (scoring.Resources{}) {
		return nil
	}
	p := cf.cfg.Weights.Pressure(n.place.Usage.Add(extra).Add(c.usage), n.place.Capacity)
	if !n.hotAt(p) {
		return nil
	}
	return reason(ReasonDestinationTurnsHot, "an earlier replacement of this cycle may land on %s too: with both its busiest resource would reach %.3f, within the margin of its hot threshold %.2f (at or above %.2f)", n.name, p, n.hot, n.cool)
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
		if every := cf.every; len(every) > 0 {
			why += fmt.Sprintf("; a pod on %s is placed by a score of every node, where such a move can be confirmed", strings.Join(every, " or "))
		}
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
	if dest.hotAt(c.dstNewP) {
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
		cf.draws = append(cf.draws, draw{possible: c.possible, to: c.dest.name, usage: c.usage, pod: c.pod})
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
