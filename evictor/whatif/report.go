package whatif

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// PlanReport is the plan the evictor would make now, for people (WriteTable) or scripts (JSON).
type PlanReport struct {
	Policy         string          `json:"policy"`
	At             time.Time       `json:"at"`
	DryRun         bool            `json:"dryRun"`
	Blockers       []string        `json:"blockers"`
	SigmaBefore    float64         `json:"sigmaBefore"`
	SigmaAfter     float64         `json:"predictedSigmaAfter"`
	HotNodes       []string        `json:"hotNodes"`
	ColdNodes      []string        `json:"coldNodes"`
	LowerBound     int             `json:"lowerBound"`
	ClearsHotNodes bool            `json:"clearsHotNodes"`
	Moves          []ReportMove    `json:"moves"`
	HeldBack       map[string]int  `json:"heldBackByReason"`
	Budgets        []ReportBudget  `json:"budgets"`
	Excluded       []ReportExclude `json:"excludedNodes"`
	// Readings says how the dump's readings were taken: as having held for as many readings as
	// the policy's hysteresis needs (steady state), or as the first reading after a restart.
	Readings string `json:"readings"`
	// Stopped is what kept the plan from doing more (planner.Result.Stopped), and StoppedHeld how
	// many candidates it held back.
	Stopped     string `json:"stoppedBy"`
	StoppedHeld int    `json:"stoppedByHeldBack"`
	// Window is whether a disruption window is open, for a policy that has windows.
	Window *ReportWindow `json:"disruptionWindow,omitempty"`
}

// ReportWindow is the state of a policy's disruption windows at the plan's time.
type ReportWindow struct {
	Open        bool       `json:"open"`
	ClosesAt    *time.Time `json:"closesAt,omitempty"`
	NextOpensAt *time.Time `json:"nextOpensAt,omitempty"`
}

// PlanOptions shape Plan.
type PlanOptions struct {
	// FirstCycle plans as the evictor's first cycle after a restart: every node needs the
	// policy's consecutive readings before it is hot or cold, and a dump has one, so nothing is
	// hot. By default the dump's readings count as having held that long (the steady state).
	FirstCycle bool
}

// ReportMove is one planned eviction.
type ReportMove struct {
	Pod       string  `json:"pod"`
	From      string  `json:"from"`
	To        string  `json:"predictedTo"`
	Scheduler string  `json:"scheduler"`
	SigmaDrop float64 `json:"predictedSigmaDrop"`
	Reason    string  `json:"reason"`
	// Deferred: no disruption window is open; the evictor reports the move and makes it only
	// inside a window.
	Deferred bool `json:"deferred,omitempty"`
}

// ReportBudget is what a budget still allows this hour (-1: unlimited).
type ReportBudget struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Remaining int    `json:"remaining"`
}

// ReportExclude is a node left out.
type ReportExclude struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

// Plan plans once on the dump under the policy, at now.
func Plan(d *Dump, engine *placement.Engine, policy *v1alpha1.RebalancePolicy, now time.Time, opts PlanOptions) PlanReport {
	snap := d.Snapshot()
	snap.Placement = engine
	j, _ := scoring.ResolvePolicy(policy)
	readings := fmt.Sprintf("the dump's readings taken as having held for %d readings in a row (the policy's hysteresis), as in the steady state", j.Hysteresis.Consecutive)
	planned := policy
	if opts.FirstCycle {
		readings = fmt.Sprintf("the first cycle after a restart: a node needs %d readings in a row to be hot or cold, and the dump has one", j.Hysteresis.Consecutive)
	} else {
		planned = steadyState(policy)
	}
	res := planner.Plan(snap, planned, d.SLOs, planner.State{}, now)
	r := PlanReport{Policy: policy.Name, At: now, Readings: readings, DryRun: res.DryRun, SigmaBefore: res.SigmaBefore, SigmaAfter: res.SigmaAfter,
		LowerBound: res.LowerBound, ClearsHotNodes: res.ClearsHotNodes, HeldBack: map[string]int{},
		Blockers: []string{}, Moves: []ReportMove{}, HotNodes: []string{}, ColdNodes: []string{}, Budgets: []ReportBudget{}, Excluded: []ReportExclude{}}
	for _, b := range res.Blockers {
		r.Blockers = append(r.Blockers, b.Message)
	}
	for _, n := range res.Nodes {
		switch n.State.Class {
		case scoring.Hot:
			r.HotNodes = append(r.HotNodes, n.Name)
		case scoring.Cold:
			r.ColdNodes = append(r.ColdNodes, n.Name)
		}
	}
	for _, m := range res.Moves {
		r.Moves = append(r.Moves, ReportMove{Pod: m.Pod.String(), From: m.From, To: m.To, Scheduler: m.Scheduler, SigmaDrop: m.SigmaDrop(), Reason: m.Reason.Message})
	}
	for _, m := range res.Deferred {
		r.Moves = append(r.Moves, ReportMove{Pod: m.Pod.String(), From: m.From, To: m.To, Scheduler: m.Scheduler, SigmaDrop: m.SigmaDrop(),
			Reason: "outside the disruption windows: " + m.Reason.Message, Deferred: true})
	}
	if w := res.Window; w != nil {
		r.Window = &ReportWindow{Open: w.Open}
		if !w.ClosesAt.IsZero() {
			r.Window.ClosesAt = &w.ClosesAt
		}
		if !w.NextOpensAt.IsZero() {
			r.Window.NextOpensAt = &w.NextOpensAt
		}
	}
	byReason := res.HeldBackByReason()
	for code, n := range byReason {
		r.HeldBack[string(code)] = n
	}
	r.Stopped, r.StoppedHeld = res.Stopped()
	for _, x := range res.Excluded {
		r.Excluded = append(r.Excluded, ReportExclude{x.Name, x.Reason})
	}
	left := planner.NamespaceBudgetsLeft(policy, &res)
	for _, b := range policy.Spec.NamespaceBudgets {
		r.Budgets = append(r.Budgets, ReportBudget{"namespace", b.Namespace, left[b.Namespace]})
	}
	for _, s := range d.SLOs {
		r.Budgets = append(r.Budgets, ReportBudget{"WorkloadSLO", s.Namespace + "/" + s.Name, ledger.SLORemaining(s, now)})
	}
	return r
}

// steadyState is the policy with one reading enough to classify a node: the plan a cycle makes
// once the readings have held as long as the hysteresis needs. The lower bound of simulate is
// taken the same way, so the two agree.
func steadyState(p *v1alpha1.RebalancePolicy) *v1alpha1.RebalancePolicy {
	out := p.DeepCopy()
	h := v1alpha1.Hysteresis{}
	if out.Spec.Hysteresis != nil {
		h = *out.Spec.Hysteresis
	}
	h.ConsecutiveReadings = 1
	out.Spec.Hysteresis = &h
	return out
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes the plan for people.
func (r PlanReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mode := "live"
	if r.DryRun {
		mode = "dry-run (the evictor would only report these)"
	}
	fmt.Fprintf(tw, "Policy %s, %s, as of %s\n", r.Policy, mode, r.At.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "Readings: %s\n", r.Readings)
	if w := r.Window; w != nil {
		switch {
		case w.Open && w.ClosesAt != nil:
			fmt.Fprintf(tw, "Disruption window: open until %s\n", w.ClosesAt.UTC().Format(time.RFC3339))
		case w.NextOpensAt != nil:
			fmt.Fprintf(tw, "Disruption windows: none open; the moves below wait for the next, at %s\n", w.NextOpensAt.UTC().Format(time.RFC3339))
		default:
			fmt.Fprintln(tw, "Disruption windows: none open, and none opens again")
		}
	}
	for _, b := range r.Blockers {
		fmt.Fprintf(tw, "Evicting nothing: %s\n", b)
	}
	fmt.Fprintf(tw, "Sigma %.4f now, %.4f predicted after the plan; hot nodes %d %v; cold nodes %d\n",
		r.SigmaBefore, r.SigmaAfter, len(r.HotNodes), r.HotNodes, len(r.ColdNodes))
	fmt.Fprintf(tw, "Lower bound on evictions to clear every hot node: %d; the plan clears them: %v\n\n", r.LowerBound, r.ClearsHotNodes)
	fmt.Fprintln(tw, "POD\tFROM\tPREDICTED TO\tSCHEDULER\tSIGMA DROP\tREASON")
	for _, m := range r.Moves {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.4f\t%s\n", m.Pod, m.From, m.To, m.Scheduler, m.SigmaDrop, m.Reason)
	}
	if len(r.Moves) == 0 {
		fmt.Fprintln(tw, "(no move)")
	}
	fmt.Fprintln(tw, "\nHELD BACK\tCANDIDATES")
	codes := make([]string, 0, len(r.HeldBack))
	for c := range r.HeldBack {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		return r.HeldBack[codes[i]] > r.HeldBack[codes[j]] || (r.HeldBack[codes[i]] == r.HeldBack[codes[j]] && codes[i] < codes[j])
	})
	for _, c := range codes {
		fmt.Fprintf(tw, "%s\t%d\n", c, r.HeldBack[c])
	}
	if r.StoppedHeld > 0 {
		fmt.Fprintf(tw, "\nStopped by: %s (%d candidates held back by it)\n", r.Stopped, r.StoppedHeld)
	} else if r.Stopped != "" {
		fmt.Fprintf(tw, "\nStopped by: %s\n", r.Stopped)
	}
	if len(r.Budgets) > 0 {
		fmt.Fprintln(tw, "\nBUDGET\tNAME\tLEFT THIS HOUR")
		for _, b := range r.Budgets {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", b.Kind, b.Name, b.Remaining)
		}
	}
	for _, x := range r.Excluded {
		fmt.Fprintf(tw, "Left out: %s (%s)\n", x.Node, x.Reason)
	}
	return tw.Flush()
}

// shortMoves is how many evictions a simulation's table lists without being asked (--moves).
const shortMoves = 50

// WriteTable writes a simulation for people: a line per cycle with why it stopped evicting, the
// evictions (when there are at most 50, or when moves is true), and a summary that says
// "converged" only when nothing was left to do.
func (r Result) WriteTable(w io.Writer, moves bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CYCLE\tSIGMA\tHOT\tCOLD\tEVICTIONS\tTOTAL\tSTOPPED BECAUSE")
	for _, c := range r.Cycles {
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%d\t%d\t%d\t%s\n", c.Cycle, c.Sigma, c.Hot, c.Cold, c.Evictions, c.Total, c.Stopped)
	}
	if moves || len(r.Moves) <= shortMoves {
		fmt.Fprintln(tw, "\nCYCLE\tPOD\tWORKLOAD\tFROM\tPREDICTED\tLANDED ON\tSIGMA BEFORE\tSIGMA AFTER")
		for _, m := range r.Moves {
			landed := m.LandedOn
			if landed == "" {
				landed = "(pending)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.4f\t%.4f\n", m.Cycle, m.Pod, m.Workload, m.From, m.PredictedTo, landed, m.SigmaBefore, m.SigmaAfter)
		}
	} else {
		fmt.Fprintf(tw, "\n%d evictions; --moves lists them\n", len(r.Moves))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nSigma %.4f -> %.4f with %d evictions (lower bound %d", r.InitialSigma, r.FinalSigma, r.Evictions, r.LowerBound)
	if r.LowerBound > 0 {
		fmt.Fprintf(&b, ", evictions/LB %.2f", r.EvictionsPerLB())
	}
	fmt.Fprintf(&b, "); replacements on cold nodes %d of %d\n", r.OnCold, r.Placed)
	if r.Noise > 0 {
		fmt.Fprintf(&b, "Sigma without the readings' noise %.4f -> %.4f\n", r.InitialTrueSigma, r.FinalTrueSigma)
	}
	b.WriteString(r.verdict())
	_, err := io.WriteString(w, b.String())
	return err
}

// verdict says whether the run converged, and if not, what held it back and how long the
// policy's limits need at this rate.
func (r Result) verdict() string {
	if len(r.Cycles) == 0 {
		return ""
	}
	last := r.Cycles[len(r.Cycles)-1]
	if r.Converged {
		return fmt.Sprintf("Converged: nothing left to do from cycle %d on (%s)\n", r.ConvergedAt, last.Stopped)
	}
	out := fmt.Sprintf("Not converged after %d cycles: the last cycle stopped because of %s, with %d nodes hot", len(r.Cycles), last.Stopped, last.Hot)
	if last.Stopped == StopUncertainDestination {
		out += " (the pods' scheduler may put their replacements on nodes that are not acceptable destinations: it draws among equal top scores or scores a sample of the nodes; "
		if len(r.ScoringEveryNode) > 0 {
			out += fmt.Sprintf("%s scores every node of this cluster, so only its ties remain uncertain there)", strings.Join(r.ScoringEveryNode, " and "))
		} else {
			out += "no scheduler of this run scores every node (percentageOfNodesToScore: 100), so only moves whose every possible destination is acceptable are made)"
		}
	}
	if r.Remaining > 0 {
		out += fmt.Sprintf("; at least %d more evictions are needed", r.Remaining)
		if r.MaxPerHour > 0 {
			out += fmt.Sprintf(", which the policy's limit of %d an hour allows in about %s", r.MaxPerHour,
				(time.Duration(float64(r.Remaining) / float64(r.MaxPerHour) * float64(time.Hour))).Round(time.Minute))
		}
	}
	return out + "\n"
}
