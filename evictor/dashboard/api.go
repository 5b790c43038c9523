package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sort"
	"time"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

//go:embed static
var static embed.FS

// Handler serves the page and the API. Mount it at /dashboard, /dashboard/ and /api/v1/ (see
// Paths). Every endpoint is read-only: anything but GET and HEAD gets 405.
func Handler(h *History) http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	files := http.FileServer(http.FS(sub))
	mux.Handle("/dashboard/", http.StripPrefix("/dashboard/", files))
	mux.HandleFunc("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/api/v1/policies", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, map[string]any{"policies": h.Policies()}) })
	mux.HandleFunc("/api/v1/plan", h.withPolicy(planJSON))
	mux.HandleFunc("/api/v1/nodes", h.withPolicy(nodesJSON))
	mux.HandleFunc("/api/v1/budgets", h.withPolicy(budgetsJSON))
	mux.HandleFunc("/api/v1/history", h.withPolicy(historyJSON))
	return readOnly(securityHeaders(mux))
}

// Paths are the paths Handler serves, for servers that register handlers by path (the
// controller-runtime metrics server).
var Paths = []string{"/dashboard", "/dashboard/", "/api/v1/"}

func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: only GET and HEAD are served", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders: the page loads only its own files, and nothing is sniffed or framed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (h *History) withPolicy(f func(w http.ResponseWriter, p string, h *History)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		policy := r.URL.Query().Get("policy")
		if policy == "" {
			if ps := h.Policies(); len(ps) > 0 {
				policy = ps[0]
			}
		}
		if _, _, _, ok := h.snapshot(policy); !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "no cycle recorded yet for policy " + policy})
			return
		}
		f(w, policy, h)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type reasonJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type conditionJSON struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func planJSON(w http.ResponseWriter, policy string, h *History) {
	c, _, _, _ := h.snapshot(policy)
	res := c.Result
	type moveJSON struct {
		Namespace   string     `json:"namespace"`
		Pod         string     `json:"pod"`
		Workload    string     `json:"workload"`
		From        string     `json:"from"`
		To          string     `json:"predictedTo"`
		Scheduler   string     `json:"scheduler"`
		SigmaBefore float64    `json:"sigmaBefore"`
		SigmaAfter  float64    `json:"sigmaAfter"`
		SigmaDrop   float64    `json:"predictedSigmaDrop"`
		Reason      reasonJSON `json:"reason"`
		Result      string     `json:"result,omitempty"`
	}
	type heldJSON struct {
		Namespace string       `json:"namespace"`
		Pod       string       `json:"pod"`
		Node      string       `json:"node"`
		Reasons   []reasonJSON `json:"reasons"`
	}
	out := struct {
		Policy         string          `json:"policy"`
		Time           time.Time       `json:"time"`
		DryRun         bool            `json:"dryRun"`
		Conditions     []conditionJSON `json:"conditions"`
		Blockers       []string        `json:"blockers"`
		SigmaBefore    float64         `json:"sigmaBefore"`
		SigmaAfter     float64         `json:"predictedSigmaAfter"`
		HotNodes       int             `json:"hotNodes"`
		ColdNodes      int             `json:"coldNodes"`
		LowerBound     int             `json:"lowerBound"`
		ClearsHotNodes bool            `json:"clearsHotNodes"`
		StoppedBy      string          `json:"stoppedBy"`
		Moves          []moveJSON      `json:"moves"`
		HeldBackTotal  int             `json:"heldBackTotal"`
		HeldByReason   map[string]int  `json:"heldBackByReason"`
		HeldBack       []heldJSON      `json:"heldBack"`
	}{Policy: policy, Time: c.Time, DryRun: c.DryRun, SigmaBefore: res.SigmaBefore, SigmaAfter: res.SigmaAfter,
		HotNodes: res.HotNodes, ColdNodes: res.ColdNodes, LowerBound: res.LowerBound, ClearsHotNodes: res.ClearsHotNodes,
		Moves: []moveJSON{}, HeldBack: []heldJSON{}, HeldByReason: map[string]int{}, Blockers: []string{}}
	for _, cond := range conditionsOf(c) {
		out.Conditions = append(out.Conditions, conditionJSON{cond.Type, string(cond.Status), cond.Reason, cond.Message})
	}
	for _, b := range res.Blockers {
		out.Blockers = append(out.Blockers, b.Message)
	}
	results := map[string]string{}
	for _, o := range c.Outcomes {
		results[o.Move.Pod.String()] = resultText(o)
	}
	for _, m := range res.Moves {
		out.Moves = append(out.Moves, moveJSON{Namespace: m.Pod.Namespace, Pod: m.Pod.Name, Workload: m.Workload.String(), From: m.From, To: m.To,
			Scheduler: m.Scheduler, SigmaBefore: m.SigmaBefore, SigmaAfter: m.SigmaAfter, SigmaDrop: m.SigmaDrop(),
			Reason: reasonJSON{string(m.Reason.Code), m.Reason.Message}, Result: results[m.Pod.String()]})
	}
	// Counts over every held-back candidate, and what stopped the plan, are the plan summary's
	// (trimCycle makes one when the status has none); a cycle that made no plan has none.
	if lp := c.Status.LastPlan; lp != nil {
		out.HeldBackTotal, out.StoppedBy = int(lp.HeldBack), lp.StoppedBy
		for _, rc := range lp.HeldBackReasons {
			out.HeldByReason[rc.Reason] = int(rc.Count)
		}
	}
	for _, hb := range res.HeldBack {
		if hb.Has(planner.ReasonNotOptedIn) {
			continue
		}
		hj := heldJSON{Namespace: hb.Pod.Namespace, Pod: hb.Pod.Name, Node: hb.Node}
		for _, r := range hb.Reasons {
			hj.Reasons = append(hj.Reasons, reasonJSON{string(r.Code), r.Message})
		}
		out.HeldBack = append(out.HeldBack, hj)
	}
	writeJSON(w, out)
}

func nodesJSON(w http.ResponseWriter, policy string, h *History) {
	c, _, _, _ := h.snapshot(policy)
	type nodeJSON struct {
		Name           string  `json:"name"`
		CPU            float64 `json:"cpu"`
		Memory         float64 `json:"memory"`
		Score          float64 `json:"score"`
		PredictedScore float64 `json:"predictedScore"`
		Classification string  `json:"classification"`
		Readings       int32   `json:"readings"`
		Hot            float64 `json:"hotThreshold"`
		Cold           float64 `json:"coldThreshold"`
	}
	type classJSON struct {
		Name  string     `json:"name"`
		Nodes []nodeJSON `json:"nodes"`
	}
	type excludedJSON struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	}
	byClass := map[string][]nodeJSON{}
	for _, n := range c.Result.Nodes {
		byClass[n.NodeClass] = append(byClass[n.NodeClass], nodeJSON{Name: n.Name, CPU: n.CPU, Memory: n.Memory, Score: n.Score,
			PredictedScore: n.PredictedScore, Classification: n.State.Class.String(), Readings: n.State.Readings, Hot: n.HotThreshold, Cold: n.ColdThreshold})
	}
	out := struct {
		Policy   string         `json:"policy"`
		Time     time.Time      `json:"time"`
		Classes  []classJSON    `json:"classes"`
		Excluded []excludedJSON `json:"excluded"`
	}{Policy: policy, Time: c.Time, Classes: []classJSON{}, Excluded: []excludedJSON{}}
	names := make([]string, 0, len(byClass))
	for k := range byClass {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		label := k
		if label == "" {
			label = "(no NodeClass)"
		}
		out.Classes = append(out.Classes, classJSON{Name: label, Nodes: byClass[k]})
	}
	for _, x := range c.Result.Excluded {
		out.Excluded = append(out.Excluded, excludedJSON{x.Name, x.Reason})
	}
	writeJSON(w, out)
}

type disruptionJSON struct {
	Time      time.Time `json:"time"`
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	Node      string    `json:"node,omitempty"`
	Workload  string    `json:"workload,omitempty"`
}

func budgetsJSON(w http.ResponseWriter, policy string, h *History) {
	c, _, _, _ := h.snapshot(policy)
	type nsJSON struct {
		Namespace string `json:"namespace"`
		Remaining int    `json:"remaining"`
	}
	type pendingJSON struct {
		Pod    string     `json:"pod"`
		Node   string     `json:"node,omitempty"`
		Reason string     `json:"reason"`
		Since  *time.Time `json:"since,omitempty"`
	}
	type sloJSON struct {
		Namespace string           `json:"namespace"`
		Name      string           `json:"name"`
		Max       int32            `json:"maxDisruptionsPerHour"`
		Remaining *int32           `json:"remaining,omitempty"`
		Pods      int32            `json:"pods"`
		Ledger    []disruptionJSON `json:"ledger"`
		Pending   []pendingJSON    `json:"pending"`
	}
	out := struct {
		Policy            string           `json:"policy"`
		EvictionsLastHour int32            `json:"evictionsLastHour"`
		Namespaces        []nsJSON         `json:"namespaces"`
		WorkloadSLOs      []sloJSON        `json:"workloadSLOs"`
		Ledger            []disruptionJSON `json:"ledger"`
	}{Policy: policy, EvictionsLastHour: c.Status.EvictionsLastHour, Namespaces: []nsJSON{}, WorkloadSLOs: []sloJSON{}, Ledger: ledgerJSON(c.Status.Ledger)}
	nss := make([]string, 0, len(c.Budgets))
	for ns := range c.Budgets {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		out.Namespaces = append(out.Namespaces, nsJSON{ns, c.Budgets[ns]})
	}
	for _, s := range c.SLOs {
		sj := sloJSON{Namespace: s.Namespace, Name: s.Name, Remaining: s.Status.DisruptionsRemaining, Pods: s.Status.MatchingPods,
			Ledger: ledgerJSON(s.Status.Ledger), Pending: []pendingJSON{}}
		if s.Spec.MaxDisruptionsPerHour != nil {
			sj.Max = *s.Spec.MaxDisruptionsPerHour
		}
		for _, p := range s.Status.Pending {
			pj := pendingJSON{Pod: p.Pod, Node: p.Node, Reason: p.Reason}
			if p.Since != nil {
				t := p.Since.Time
				pj.Since = &t
			}
			sj.Pending = append(sj.Pending, pj)
		}
		out.WorkloadSLOs = append(out.WorkloadSLOs, sj)
	}
	writeJSON(w, out)
}

func historyJSON(w http.ResponseWriter, policy string, h *History) {
	_, points, evs, _ := h.snapshot(policy)
	if points == nil {
		points = []Point{}
	}
	if evs == nil {
		evs = []Eviction{}
	}
	writeJSON(w, struct {
		Policy    string     `json:"policy"`
		Points    []Point    `json:"points"`
		Evictions []Eviction `json:"evictions"`
	}{policy, points, evs})
}

func ledgerJSON(l []v1alpha1.Disruption) []disruptionJSON {
	out := []disruptionJSON{}
	for _, d := range l {
		out = append(out, disruptionJSON{Time: d.Time.Time, Namespace: d.Namespace, Pod: d.Pod, Node: d.Node, Workload: d.Workload})
	}
	return out
}
