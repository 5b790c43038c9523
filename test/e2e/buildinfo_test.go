//go:build e2e

package e2e_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// Both programs, as `make` builds them, say which version and commit they are:
// rebalancer_build_info{version,revision} carries the chart's appVersion and the commit checked out.
func TestBuildInfoIsStamped(t *testing.T) {
	chart, err := os.ReadFile(controlplane.RepoRoot() + "/charts/rebalancer/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^appVersion: "([^"]+)"`).FindSubmatch(chart)
	if m == nil {
		t.Fatal("no appVersion in Chart.yaml")
	}
	wantVersion := string(m[1])
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = controlplane.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	wantRevision := strings.TrimSpace(string(out))
	for name, mfs := range map[string]func(*testing.T) map[string]*dto.MetricFamily{"evictor": evictorMetrics, "scheduler": schedulerMetrics} {
		mf, ok := mfs(t)["rebalancer_build_info"]
		if !ok || len(mf.GetMetric()) != 1 {
			t.Errorf("%s: no single rebalancer_build_info series", name)
			continue
		}
		labels := map[string]string{}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != wantVersion || labels["revision"] != wantRevision {
			t.Errorf("%s: rebalancer_build_info %v, want version %s revision %s", name, labels, wantVersion, wantRevision)
		}
		t.Logf("%s: rebalancer_build_info %v", name, labels)
	}
}
