package dashboard

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// recorded is a cycle as the evictor reports it, with a pod name that tries to inject markup.
func recorded(at time.Time) evictor.Cycle {
	move := planner.Move{Pod: planner.PodRef{Namespace: "prod", Name: "web-<script>alert(1)</script>"}, Workload: planner.WorkloadKey{Namespace: "prod", Kind: "ReplicaSet", Name: "web"},
		From: "n1", To: "n2", SigmaBefore: 0.3, SigmaAfter: 0.2, Reason: planner.Reason{Code: planner.ReasonLowersSigma, Message: "node n1 is hot"}}
	return evictor.Cycle{
		Policy: "default", Time: at,
		Result: planner.Result{
			Time: at, SigmaBefore: 0.3, SigmaAfter: 0.2, HotNodes: 1, ColdNodes: 1, LowerBound: 1, ClearsHotNodes: true,
			Nodes: []planner.NodeReport{
				{Name: "n1", NodeClass: "x86", CPU: 0.9, Memory: 0.75, Score: 0.825, PredictedScore: 0.7, State: scoring.NodeState{Class: scoring.Hot, Readings: 2}, HotThreshold: 0.75, ColdThreshold: 0.35},
				{Name: "n2", CPU: 0.1, Memory: 0.1, Score: 0.1, PredictedScore: 0.2, State: scoring.NodeState{Class: scoring.Cold, Readings: 4}, HotThreshold: 0.75, ColdThreshold: 0.35},
			},
			Moves: []planner.Move{move},
			HeldBack: []planner.HeldBack{{Pod: planner.PodRef{Namespace: "prod", Name: "api-0"}, Node: "n1",
				Reasons: []planner.Reason{{Code: planner.ReasonSLOBudget, Message: "WorkloadSLO prod/api budget exhausted: 1 of 1 disruptions used in the last hour"}}}},
		},
		Outcomes: []evictor.MoveOutcome{{Move: move, Outcome: evictor.Evicted}},
		Budgets:  map[string]int{"prod": 2, "staging": -1},
		SLOs: []v1alpha1.WorkloadSLO{{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "api"},
			Spec:   v1alpha1.WorkloadSLOSpec{MaxDisruptionsPerHour: ptr.To[int32](1)},
			Status: v1alpha1.WorkloadSLOStatus{DisruptionsRemaining: ptr.To[int32](0), Ledger: []v1alpha1.Disruption{{Time: metav1.NewTime(at), Namespace: "prod", Pod: "api-9"}}}}},
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonCycleSucceeded}},
	}
}

type answer struct {
	StatusCode int
	Header     http.Header
}

func serve(t *testing.T, h http.Handler, method, path string) (answer, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	return answer{rec.Code, rec.Header()}, string(body)
}

func TestAPI(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	hist := NewHistory()
	hist.ObserveCycle(recorded(at))
	h := Handler(hist)

	cases := []struct {
		path string
		want []string
	}{
		{"/api/v1/policies", []string{`"default"`}},
		{"/api/v1/plan", []string{`"predictedTo": "n2"`, `"SLOBudgetExhausted"`, `budget exhausted`, `"result": "evicted"`, `\u003cscript\u003e`, `"stoppedBy": "Budget"`}},
		{"/api/v1/nodes", []string{`"name": "x86"`, `"classification": "hot"`, `"(no NodeClass)"`}},
		{"/api/v1/budgets", []string{`"namespace": "staging"`, `"remaining": -1`, `"maxDisruptionsPerHour": 1`, `"api-9"`}},
		{"/api/v1/history?policy=default", []string{`"points"`, `"sigma": 0.3`, `"result": "evicted"`}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, body := serve(t, h, http.MethodGet, tc.path)
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d content-type %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("invalid JSON: %s", body)
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("a cluster string reached the response unescaped: %s", body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("response lacks %s:\n%s", w, body)
				}
			}
		})
	}

	t.Run("read-only", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if res, _ := serve(t, h, m, "/api/v1/plan"); res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s answered %d, want 405", m, res.StatusCode)
			}
		}
	})
	t.Run("unknown policy", func(t *testing.T) {
		if res, _ := serve(t, h, http.MethodGet, "/api/v1/plan?policy=nope"); res.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.StatusCode)
		}
	})
	t.Run("page", func(t *testing.T) {
		res, body := serve(t, h, http.MethodGet, "/dashboard/")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `<script src="app.js"`) || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("status %d csp %q body %.100s", res.StatusCode, res.Header.Get("Content-Security-Policy"), body)
		}
		if res, _ := serve(t, h, http.MethodGet, "/dashboard"); res.StatusCode != http.StatusMovedPermanently {
			t.Errorf("/dashboard answered %d, want a redirect to /dashboard/", res.StatusCode)
		}
	})
}

// TestAssetsAreSmallAndSelfContained: the whole page is under 200 KB and loads nothing from
// elsewhere.
func TestAssetsAreSmallAndSelfContained(t *testing.T) {
	total := 0
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
		for _, bad := range []string{"http://", "https://", "//cdn", "fonts.googleapis", "innerHTML"} {
			text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "") // the SVG namespace is a name, not a fetch
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	if total >= 200*1024 {
		t.Errorf("page assets are %d bytes, want under 200 KB", total)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	hist := NewHistory()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < MaxPoints+50; i++ {
		hist.ObserveCycle(recorded(at.Add(time.Duration(i) * time.Minute)))
	}
	_, points, evs, _ := hist.snapshot("default")
	if len(points) != MaxPoints || len(evs) != MaxEvictions {
		t.Errorf("kept %d points and %d evictions, want %d and %d", len(points), len(evs), MaxPoints, MaxEvictions)
	}
	if !points[len(points)-1].Time.Equal(at.Add(time.Duration(MaxPoints+49) * time.Minute)) {
		t.Errorf("the newest point was dropped")
	}
}

// TestPlanCountsEveryCandidate: the latest cycle keeps only MaxHeldBack held-back candidates, yet
// /api/v1/plan counts every one and says what stopped the plan from all of them, also when the
// status did not carry the plan's summary; a cycle that made no plan names no reason.
func TestPlanCountsEveryCandidate(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	c := recorded(at)
	c.Result.Moves, c.Outcomes = nil, nil
	c.Result.HeldBack = nil
	// 120 held back by a PDB, then 130 pinned: the trimmed list (the first 200) has more held
	// back by the PDB, the whole one more pinned.
	for i := range MaxHeldBack + 50 {
		code := planner.ReasonPDBNoDisruptions
		if i >= 120 {
			code = planner.ReasonPinned
		}
		c.Result.HeldBack = append(c.Result.HeldBack, planner.HeldBack{Pod: planner.PodRef{Namespace: "prod", Name: fmt.Sprintf("p-%d", i)}, Node: "n1",
			Reasons: []planner.Reason{{Code: code, Message: string(code)}}})
	}
	hist := NewHistory()
	hist.ObserveCycle(c)
	_, body := serve(t, Handler(hist), http.MethodGet, "/api/v1/plan")
	var got struct {
		StoppedBy     string         `json:"stoppedBy"`
		HeldBackTotal int            `json:"heldBackTotal"`
		HeldByReason  map[string]int `json:"heldBackByReason"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.StoppedBy != string(planner.ReasonPinned) || got.HeldBackTotal != MaxHeldBack+50 || got.HeldByReason[string(planner.ReasonPinned)] != 130 {
		t.Errorf("stoppedBy %q, heldBackTotal %d, by reason %v: want Pinned, %d, 130 pinned", got.StoppedBy, got.HeldBackTotal, got.HeldByReason, MaxHeldBack+50)
	}

	none := evictor.Cycle{Policy: "idle", Time: at}
	hist.ObserveCycle(none)
	_, body = serve(t, Handler(hist), http.MethodGet, "/api/v1/plan?policy=idle")
	if !strings.Contains(body, `"stoppedBy": ""`) {
		t.Errorf("a cycle without a plan: %s, want no reason", body)
	}
}
