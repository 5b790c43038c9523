package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The dump used here is written by the whatif package's test helper format: see
// evictor/whatif/whatif_test.go. This test only checks the command's contract: outputs, flags
// and no partial output on error.
func TestCommandErrorsLeaveNoOutput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "--dump", dir},
		{"simulate", "--dump", dir, "--cycles", "3"},
		{"plan"},
		{"plan", "--dump", dir, "--output", "xml"},
		{"frobnicate", "--dump", dir},
	} {
		var out bytes.Buffer
		err := run(args, &out, time.Now())
		if err == nil {
			t.Errorf("%v: want an error", args)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q before failing", args, out.String())
		}
	}
}

func TestHelpPrintsTheDumpCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"help"}, &out, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl get nodes,pods,pdb,priorityclasses", "/apis/metrics.k8s.io/v1beta1/pods", "rebalancer simulate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestPlanAndSimulateOnADump(t *testing.T) {
	dir := filepath.Join("testdata", "dump")
	// The dump's readings were taken at 12:00; it is read six hours later, long past staleAfter:
	// the what-if plans as of the dump, not on readings it would call stale.
	now := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	var table, js, sim bytes.Buffer
	if err := run([]string{"plan", "--dump", dir}, &table, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PREDICTED TO", "Lower bound", "as of 2026-06-01T12:00:00Z", "hot nodes 7"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("plan table lacks %q:\n%s", want, table.String())
		}
	}
	if strings.Contains(table.String(), "no fresh usage reading") {
		t.Errorf("plan calls the dump's readings stale:\n%s", table.String())
	}
	if err := run([]string{"plan", "--dump", dir, "--output", "json"}, &js, now); err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(js.Bytes(), &plan); err != nil || plan["moves"] == nil || plan["lowerBound"] == nil {
		t.Errorf("plan JSON %v: %s", err, js.String())
	}
	if err := run([]string{"simulate", "--dump", dir, "--cycles", "5", "--output", "json"}, &sim, now); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Cycles []any `json:"cycles"`
	}
	if err := json.Unmarshal(sim.Bytes(), &res); err != nil || len(res.Cycles) != 5 {
		t.Errorf("simulate JSON (%v): %.300s", err, sim.String())
	}
}
