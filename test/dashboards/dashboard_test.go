// Package dashboards checks the Grafana dashboards in dashboards/: each loads as a Grafana
// dashboard whose panels query the Prometheus data source chosen by its datasource variable, and
// every metric and label its queries use is one pkg/metrics defines.
package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tinorodney/rebalancer/pkg/metrics"
)

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name       string      `json:"name"`
			Datasource *datasource `json:"datasource"`
			Expr       string      `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// known describes the metrics pkg/metrics defines: their label names, and which are histograms
// (queried through _bucket, _sum and _count).
type known struct {
	labels     map[string][]string
	histograms map[string]bool
}

func knownMetrics(t *testing.T) known {
	t.Helper()
	k := known{labels: map[string][]string{}, histograms: map[string]bool{}}
	// One rebalancer_build_info: each binary serves its own.
	sched := metrics.NewScheduler()
	collectors := slices.Concat(metrics.NewEvictor().Collectors(), slices.DeleteFunc(sched.Collectors(), func(c prometheus.Collector) bool { return c == sched.BuildInfo }))
	descs := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range collectors {
			c.Describe(descs)
		}
		close(descs)
	}()
	// Desc's fields are private; its String() names them.
	descRE := regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)
	for d := range descs {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read metric description %s", d)
		}
		var labels []string
		if m[2] != "" {
			labels = strings.Split(m[2], ",")
		}
		k.labels[m[1]] = labels
	}
	reg := prometheus.NewPedanticRegistry()
	for _, c := range collectors {
		reg.MustRegister(c)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			k.histograms[f.GetName()] = true
		}
	}
	for _, name := range metrics.Names() {
		if _, ok := k.labels[name]; !ok {
			t.Fatalf("metrics.Names() lists %s, which no collector describes", name)
		}
	}
	return k
}

var (
	metricRE   = regexp.MustCompile(`\brebalancer_[a-zA-Z0-9_:]*`)
	groupingRE = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	selectorRE = regexp.MustCompile(`\b(rebalancer_[a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	labelFnRE  = regexp.MustCompile(`label_values\(\s*(rebalancer_[a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
)

// check reports the problems of one PromQL expression: unknown metrics, and labels (in
// selectors or in by/without) that the metrics it reads do not have.
func (k known) check(expr string) []string {
	var problems []string
	var used []string
	labelsOf := func(name string) ([]string, bool) {
		if l, ok := k.labels[name]; ok {
			return l, true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, found := strings.CutSuffix(name, suffix)
			if found && k.histograms[base] {
				if suffix == "_bucket" {
					return append(slices.Clone(k.labels[base]), "le"), true
				}
				return k.labels[base], true
			}
		}
		return nil, false
	}
	for _, name := range metricRE.FindAllString(expr, -1) {
		if _, ok := labelsOf(name); !ok {
			problems = append(problems, "unknown metric "+name)
			continue
		}
		used = append(used, name)
	}
	if len(used) == 0 && len(problems) == 0 {
		problems = append(problems, "reads no rebalancer metric")
	}
	for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
		labels, _ := labelsOf(m[1])
		for _, lm := range matcherRE.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(labels, lm[1]) {
				problems = append(problems, "label "+lm[1]+" of "+m[1]+" does not exist")
			}
		}
	}
	for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			for _, name := range used {
				if labels, _ := labelsOf(name); !slices.Contains(labels, l) {
					problems = append(problems, "grouping by "+l+", which "+name+" does not have")
				}
			}
		}
	}
	return problems
}

func TestDashboards(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(), "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dashboards in dashboards/")
	}
	k := knownMetrics(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			var d dashboard
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("not a dashboard: %v", err)
			}
			if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 || len(d.Panels) == 0 {
				t.Fatalf("uid %q title %q schemaVersion %d panels %d: not a Grafana dashboard", d.UID, d.Title, d.SchemaVersion, len(d.Panels))
			}

			// The data source is a variable, so the dashboard imports into any Grafana.
			i := slices.IndexFunc(d.Templating.List, func(v variable) bool { return v.Name == "datasource" })
			if i < 0 || d.Templating.List[i].Type != "datasource" || string(d.Templating.List[i].Query) != `"prometheus"` {
				t.Fatalf("no variable datasource of type datasource querying prometheus: %+v", d.Templating.List)
			}
			wantDS := datasource{Type: "prometheus", UID: "${datasource}"}
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				if v.Datasource == nil || *v.Datasource != wantDS {
					t.Errorf("variable %s queries %+v, want the datasource variable", v.Name, v.Datasource)
				}
				m := labelFnRE.FindStringSubmatch(string(v.Query))
				if m == nil {
					t.Errorf("variable %s: query %s is not label_values(metric, label)", v.Name, v.Query)
					continue
				}
				for _, p := range k.check(m[1] + `{` + m[2] + `=""}`) {
					t.Errorf("variable %s: %s", v.Name, p)
				}
			}
			for _, a := range d.Annotations.List {
				if a.Expr == "" {
					continue
				}
				if a.Datasource == nil || *a.Datasource != wantDS {
					t.Errorf("annotation %s queries %+v, want the datasource variable", a.Name, a.Datasource)
				}
				for _, p := range k.check(a.Expr) {
					t.Errorf("annotation %s: %s", a.Name, p)
				}
			}

			var queried []string
			var walk func(ps []panel)
			walk = func(ps []panel) {
				for _, p := range ps {
					walk(p.Panels)
					if p.Type == "row" {
						continue
					}
					if p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
						t.Errorf("panel %d %q has no title or position", p.ID, p.Title)
					}
					if len(p.Targets) == 0 {
						t.Errorf("panel %q has no targets", p.Title)
					}
					if p.Datasource == nil || *p.Datasource != wantDS {
						t.Errorf("panel %q queries %+v, want the datasource variable", p.Title, p.Datasource)
					}
					for _, tg := range p.Targets {
						if strings.TrimSpace(tg.Expr) == "" {
							t.Errorf("panel %q target %s has no expr", p.Title, tg.RefID)
							continue
						}
						if tg.Datasource != nil && *tg.Datasource != wantDS {
							t.Errorf("panel %q target %s queries %+v", p.Title, tg.RefID, tg.Datasource)
						}
						for _, problem := range k.check(tg.Expr) {
							t.Errorf("panel %q target %s: %s in %s", p.Title, tg.RefID, problem, tg.Expr)
						}
						queried = append(queried, metricRE.FindAllString(tg.Expr, -1)...)
					}
				}
			}
			walk(d.Panels)

			// What the overview must show (issue 6).
			if filepath.Base(file) == "rebalancer-overview.json" {
				for _, name := range []string{metrics.NodeUtilizationName, metrics.SigmaName, metrics.NodeClassificationName,
					metrics.EvictionsName, metrics.DryRunEvictionsName, metrics.BudgetRemainingName,
					metrics.EvictionResponsesName, metrics.PlacementsName} {
					if !slices.Contains(queried, name) {
						t.Errorf("no panel shows %s", name)
					}
				}
			}
		})
	}
}

// TestCheckCatchesMistakes: the checker itself finds what it must.
func TestCheckCatchesMistakes(t *testing.T) {
	k := knownMetrics(t)
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"valid", `sum by (namespace, reason) (rate(rebalancer_evictions_total[5m]))`, nil},
		{"histogram bucket", `histogram_quantile(0.9, sum by (le) (rate(rebalancer_plan_duration_seconds_bucket[5m])))`, nil},
		{"renamed metric", `rebalancer_eviction_total`, []string{"unknown metric rebalancer_eviction_total"}},
		{"bucket of a counter", `rebalancer_evictions_total_bucket`, []string{"unknown metric rebalancer_evictions_total_bucket"}},
		{"wrong selector label", `rebalancer_sigma{node="a"}`, []string{"label node of rebalancer_sigma does not exist"}},
		{"wrong grouping label", `sum by (pod) (rebalancer_budget_remaining)`, []string{"grouping by pod, which rebalancer_budget_remaining does not have"}},
		{"no rebalancer metric", `up`, []string{"reads no rebalancer metric"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := k.check(tc.expr)
			if !slices.Equal(tc.want, got) {
				t.Errorf("check(%s) = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}
