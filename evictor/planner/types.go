package planner

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/windows"
)

// Snapshot is the cluster as the planner sees it. Nothing in it is modified.
type Snapshot struct {
	Nodes []*corev1.Node
	// Pods are the planner's view of the pods (NewPod, NewPods, Compactor.Pod).
	Pods            []*Pod
	PDBs            []*policyv1.PodDisruptionBudget
	Namespaces      []*corev1.Namespace
	PriorityClasses []*schedulingv1.PriorityClass
	NodeClasses     []*v1alpha1.NodeClass
	Usage           Usage
	// Placement confirms every move with the real scheduler framework (pkg/placement). Nil only
	// in tests and benchmarks of the fast model: moves are then the fast model's guesses.
	Placement *placement.Engine
	// ExcludedNodes are nodes the caller keeps out of this plan, with the reason (for example,
	// an older policy owns them).
	ExcludedNodes map[string]string
	// SchedulersDown are schedulers (by name) no replica of which leads: a pod they would have
	// to place is not evicted (its replacement would stay Pending), with the reason.
	SchedulersDown map[string]string
}

// Usage holds the latest readings, in each node's own cores (millicores) and bytes.
type Usage struct {
	Nodes map[string]Sample
	Pods  map[types.NamespacedName]Sample
}

// Sample is one usage reading.
type Sample struct {
	// MilliCPU is CPU usage in millicores of the node the reading comes from.
	MilliCPU float64
	// Memory is working-set memory in bytes.
	Memory float64
	// Time is when the reading was taken.
	Time time.Time
}

// WorkloadKey names a pod's controller: the workload the pod belongs to.
type WorkloadKey struct {
	Namespace, Kind, Name string
}

func (w WorkloadKey) String() string {
	if w.Kind == "" {
		return ""
	}
	return w.Kind + "/" + w.Name
}

// State is what the planner carries from one cycle to the next. The caller keeps it; Plan
// returns the next one. Hourly budgets are not here: they live in the ledgers in the status of
// the RebalancePolicy and the WorkloadSLOs, so they survive restarts.
type State struct {
	// Nodes is each node's classification.
	Nodes map[string]scoring.NodeState
	// Backoff holds workloads the evictor backs off from until the given time, beyond the
	// policy's podBackoff after each eviction (failed evictions, replacements that came back).
	Backoff map[WorkloadKey]Backoff
}

// Backoff is a workload held back until a time, and why.
type Backoff struct {
	Until  time.Time
	Reason string
}

// ReasonCode identifies why a candidate was held back or a move made. Codes are stable (metrics
// label values); messages carry the details.
type ReasonCode string

// Reason is a code with a message for people.
type Reason struct {
	Code    ReasonCode
	Message string
}

func (r Reason) String() string { return r.Message }

// PodRef names a pod.
type PodRef struct {
	Namespace, Name string
	UID             types.UID
}

func (p PodRef) String() string { return p.Namespace + "/" + p.Name }

// Move is one planned eviction.
type Move struct {
	Pod      PodRef
	Workload WorkloadKey
	// From is the node the pod leaves, To the node its replacement is predicted to land on.
	From, To string
	// Scheduler is the scheduler predicted to place the replacement.
	Scheduler string
	// Possible are every node the scheduler may place the replacement on, as the placement
	// engine predicted (To is the one of them that lowers sigma least); empty when unconfirmed.
	Possible []string
	// Confirmed is true when the placement engine confirmed the destination.
	Confirmed bool
	// Steered is true when the pod's scheduler follows steers: the evictor publishes To with the
	// eviction, and the scheduler prefers it for the replacement (placement.Steers).
	Steered bool
	// MissChance is the chance that a scheduler scoring a sample of the nodes puts the
	// replacement on a node that is not an acceptable destination (at most MaxMissChance).
	MissChance float64
	// SigmaBefore and SigmaAfter are sigma before and after this move, as predicted.
	SigmaBefore, SigmaAfter float64
	// SourceAfter is the score the node the pod leaves is predicted to have after the move (and
	// the moves planned before it).
	SourceAfter float64
	// Stateful is true for StatefulSet pods and pods with PersistentVolumeClaims.
	Stateful bool
	// SLOs are the WorkloadSLOs (namespace/name) whose budgets the move spends.
	SLOs []string
	// Reason says why this move was made.
	Reason Reason
}

// Disruption is the ledger entry of the move's eviction at now: what every budget needs
// (ledger.Entry), the planned destination, and for a steered move the steer's expiry
// (placement.SteerTTL of the policy's interval). The evictor writes it before it evicts; the
// what-if simulator steers from it as the scheduler's plugin does.
func (m Move) Disruption(now time.Time, interval time.Duration) v1alpha1.Disruption {
	entry := ledger.Entry(now, m.Pod.Namespace, m.Pod.Name, m.From, m.Workload.String(), m.Stateful)
	entry.Destination = m.To
	if m.Steered {
		entry.DestinationExpires = ptr.To(metav1.NewTime(now.Add(placement.SteerTTL(interval))))
	}
	return entry
}

// SigmaDrop is how much the move lowers sigma.
func (m Move) SigmaDrop() float64 { return m.SigmaBefore - m.SigmaAfter }

func (m Move) String() string {
	return fmt.Sprintf("evict %s from %s, replacement predicted on %s: sigma %.4f -> %.4f (%s)",
		m.Pod, m.From, m.To, m.SigmaBefore, m.SigmaAfter, m.Reason.Message)
}

// LogValues are key/value pairs for one structured log line.
func (m Move) LogValues() []any {
	return []any{"pod", m.Pod.String(), "workload", m.Workload.String(), "from", m.From, "to", m.To,
		"sigmaBefore", m.SigmaBefore, "sigmaAfter", m.SigmaAfter, "reason", m.Reason.Code}
}

// HeldBack is a candidate on a hot node that the plan does not move, with every reason. A large
// cluster's plan holds back tens of thousands, so it is kept small: the pod's workload, which no
// reader needed, is not in it.
type HeldBack struct {
	Pod     PodRef
	Node    string
	Reasons []Reason
}

func (h HeldBack) String() string {
	msgs := make([]string, len(h.Reasons))
	for i, r := range h.Reasons {
		msgs[i] = r.Message
	}
	return fmt.Sprintf("%s on %s held back: %v", h.Pod, h.Node, msgs)
}

// Has reports whether one of the reasons has the code.
func (h HeldBack) Has(code ReasonCode) bool {
	for _, r := range h.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// NodeReport is one node as the plan saw it.
type NodeReport struct {
	Name      string
	NodeClass string
	// CPU and Memory are utilisation fractions, Score their weighted mean.
	CPU, Memory, Score float64
	// PredictedScore is the score after the planned moves.
	PredictedScore float64
	State          scoring.NodeState
	// HotThreshold and ColdThreshold are the thresholds that apply (NodeClass overrides).
	HotThreshold, ColdThreshold float64
}

// ExcludedNode is a node left out of the plan, and why.
type ExcludedNode struct {
	Name string
	// Code is NoReading, StaleReading or OwnedByOlderPolicy.
	Code   string
	Reason string
}

// Why a node is left out of a plan (ExcludedNode.Code).
const (
	ExcludedNoReading    = "NoReading"
	ExcludedStaleReading = "StaleReading"
	ExcludedOtherPolicy  = "OwnedByOlderPolicy"
)

// Blocker stops a plan from evicting anything; it maps to a status condition.
type Blocker struct {
	// Condition is the condition type that reports it (ConfigValid or MetricsAvailable).
	Condition string
	// Reason is the condition reason.
	Reason  string
	Message string
}

func (b Blocker) Error() string { return b.Message }

// Result is the planner's decision for one cycle: the plan.
type Result struct {
	Time   time.Time
	DryRun bool
	// Blockers, when present, mean nothing is evicted; Moves is then empty.
	Blockers []Blocker
	Nodes    []NodeReport
	Excluded []ExcludedNode
	// SigmaBefore is sigma of the nodes in the plan now, SigmaAfter after the planned moves.
	SigmaBefore, SigmaAfter float64
	HotNodes, ColdNodes     int
	Moves                   []Move
	// Window is whether a disruption window is open, for a policy that has windows (nil: the
	// policy may always evict).
	Window *windows.State
	// Deferred are the moves the plan would make, held back because no disruption window is
	// open; each is also in HeldBack with reason OutsideDisruptionWindow. Moves is then empty.
	Deferred []Move
	// HeldBack lists candidates not moved, in the order they were decided: node by node (by
	// name), each node's pods by namespace and name, for the rules checked up front; then as
	// selection reached them (those left at the cycle limit by predicted drop). The order does not
	// depend on the order of Snapshot.Pods.
	HeldBack []HeldBack
	// Unconfirmed counts the candidates held back on the fast model's verdict alone, because the
	// placement engine had run as often as the cycle allows (ReasonConfirmationLimit); their
	// reasons carry the model's code. More runs might have taken some of them.
	Unconfirmed int
	// LowerBound is the fewest evictions that could make every hot node stop being hot (bring it
	// under its hot threshold minus the hysteresis margin).
	LowerBound int
	// ClearsHotNodes is true when, after the planned moves, every hot node is predicted to stop
	// being hot: under its hot threshold minus the hysteresis margin.
	ClearsHotNodes bool
	// NotHotDestinations is true when the policy lets a replacement go to any node that is not
	// hot (destinations: NotHot); false under the default, Cold.
	NotHotDestinations bool
	// State is the state for the next cycle.
	State State
}

// HeldBackByReason counts held-back candidates by reason code.
func (p *Result) HeldBackByReason() map[ReasonCode]int {
	out := map[ReasonCode]int{}
	for _, h := range p.HeldBack {
		for _, r := range h.Reasons {
			out[r.Code]++
		}
	}
	return out
}
