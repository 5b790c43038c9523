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
}

// ReportMove is one planned eviction.
type ReportMove struct {
	Pod       string  `json:"pod"`
	From      string  `json:"from"`
	To        string  `json:"predictedTo"`
	Scheduler string  `json:"scheduler"`
	SigmaDrop float64 `json:"predictedSigmaDrop"`
	Reason    string  `json:"reason"`
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
func Plan(d *Dump, engine *placement.Engine, policy *v1alpha1.RebalancePolicy, now time.Time) PlanReport {
	snap := d.Snapshot()
	snap.Placement = engine
	res := planner.Plan(snap, policy, d.SLOs, planner.State{}, now)
	r := PlanReport{Policy: policy.Name, At: now, DryRun: res.DryRun, SigmaBefore: res.SigmaBefore, SigmaAfter: res.SigmaAfter,
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
	for code, n := range res.HeldBackByReason() {
		r.HeldBack[string(code)] = n
	}
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

// WriteTable writes a simulation for people.
func (r Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CYCLE\tSIGMA\tHOT\tCOLD\tEVICTIONS\tTOTAL\t")
	for _, c := range r.Cycles {
		fmt.Fprintf(tw, "%d\t%.4f\t%d\t%d\t%d\t%d\t\n", c.Cycle, c.Sigma, c.Hot, c.Cold, c.Evictions, c.Total)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	conv := "not within the simulated cycles"
	if r.ConvergedAt > 0 {
		conv = fmt.Sprintf("from cycle %d on, nothing more was evicted", r.ConvergedAt)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nSigma %.4f -> %.4f with %d evictions (lower bound %d", r.InitialSigma, r.FinalSigma, r.Evictions, r.LowerBound)
	if r.LowerBound > 0 {
		fmt.Fprintf(&b, ", evictions/LB %.2f", r.EvictionsPerLB())
	}
	fmt.Fprintf(&b, "); converged: %s; replacements on cold nodes %d of %d\n", conv, r.OnCold, r.Placed)
	_, err := io.WriteString(w, b.String())
	return err
}
