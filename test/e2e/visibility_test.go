//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tinorodney/rebalancer/test/controlplane"
	"github.com/tinorodney/rebalancer/test/promtest"
)

// After the playbook's evictions, with a policy in place, a real Prometheus (Debian's package)
// scraping both programs answers every panel query of the Grafana board with data. This file's name sorts last: its test
// runs after the others have made evictions and placements.
func TestGrafanaPanelsHaveData(t *testing.T) {
	// The per-policy and per-node gauges exist while a policy does (the evictor removes those of
	// deleted policies; every test above deleted its own).
	policy(t, true, nil)
	waitUntil(t, 2*time.Minute, "the evictor reports sigma for the policy", func(context.Context) (bool, error) {
		_, ok := evictorMetrics(t)["rebalancer_sigma"]
		return ok, nil
	})
	prom := promtest.Start(t, time.Second, fmt.Sprintf(`- job_name: rebalancer-evictor
  honor_labels: true
  static_configs:
  - targets: [%q]
- job_name: rebalancer-scheduler
  scheme: https
  tls_config: {insecure_skip_verify: true}
  static_configs:
  - targets: [%q]
`, evictorAddr, schedulerAddr))
	ctx := context.Background()
	waitUntil(t, time.Minute, "Prometheus scrapes both programs three times", func(context.Context) (bool, error) {
		v, err := prom.Query(ctx, `count_over_time(up[1m]) >= 3 and up == 1`)
		return err == nil && len(v) == 2, nil
	})
	panels := promtest.BoardPanels(t, controlplane.RepoRoot(), "rebalancer-overview.json")
	// Grafana's variables: every value of the template variables, the rate interval and range of
	// a dashboard looking at the last 15 minutes.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "15m", `"$policy"`, `".*"`, `"$node"`, `".*"`,
		`"$resource"`, `".*"`, `"$namespace"`, `".*"`)
	queries := 0
	for _, p := range panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			queries++
			q := vars.Replace(tg.Expr)
			v, err := prom.Query(ctx, q)
			switch {
			case err != nil:
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
			case len(v) == 0:
				t.Errorf("panel %q: %s returned no data", p.Title, q)
			default:
				t.Logf("panel %q: %d series", p.Title, len(v))
			}
		}
	}
	if queries < 10 {
		t.Errorf("read %d panel queries from the board, want every panel's", queries)
	}
}
