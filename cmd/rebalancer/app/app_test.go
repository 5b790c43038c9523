package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The dump's readings were taken at 12:00; it is read six hours later, long past staleAfter: the
// what-if plans as of the dump, not on readings it would call stale.
var later = time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)

const dump = "testdata/dump"

// run runs the command as the binary does and returns its exit code and outputs.
func run(program string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(append([]string{program}, args...), &stdout, &stderr, later)
	return code, stdout.String(), stderr.String()
}

// Command-line conventions: -h exits 0, a usage error exits 2 with the usage on stderr, a failure
// exits 1 with one line naming what failed; nothing is printed on stdout when the command fails.
func TestExitCodesAndOutputs(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "broken.yaml"), []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknownKind := t.TempDir()
	if err := os.WriteFile(filepath.Join(unknownKind, "x.yaml"), []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	orphan := copyDump(t, func(name string, data []byte) []byte {
		if name == "cluster.yaml" {
			return bytes.Replace(data, []byte("nodeName: node-00006"), []byte("nodeName: gone-1"), 1)
		}
		return data
	})
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // a part of the first line of stderr
		wantStdout string
	}{
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStdout: "kubectl get nodes,pods,pdb,priorityclasses"},
		{name: "plan help", args: []string{"plan", "--help"}, wantCode: 0, wantStdout: "--first-cycle"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "go1."},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"plan", "--frob"}, wantCode: 2, wantStderr: "unknown flag: --frob"},
		{name: "a flag of another command", args: []string{"plan", "--dump", dump, "--cycles", "3"}, wantCode: 2, wantStderr: "unknown flag: --cycles"},
		{name: "bad output", args: []string{"plan", "--dump", dump, "-o", "xml"}, wantCode: 2, wantStderr: "--output must be table, json or yaml"},
		{name: "dump and context", args: []string{"plan", "--dump", dump, "--context", "prod"}, wantCode: 2, wantStderr: "give one or the other"},
		{name: "no cycles", args: []string{"simulate", "--dump", dump, "--cycles", "0"}, wantCode: 2, wantStderr: "--cycles must be at least 1"},
		{name: "dump without a directory", args: []string{"dump"}, wantCode: 2, wantStderr: "dump takes one directory"},
		{name: "missing dump", args: []string{"plan", "--dump", "/nonexistent"}, wantCode: 1, wantStderr: "reading dump directory"},
		{name: "malformed YAML", args: []string{"plan", "--dump", broken}, wantCode: 1, wantStderr: "broken.yaml: document 1"},
		{name: "unknown kind", args: []string{"plan", "--dump", unknownKind}, wantCode: 1, wantStderr: "x.yaml: document 1"},
		{name: "pod on an unknown node", args: []string{"simulate", "--dump", orphan}, wantCode: 1, wantStderr: "is on node gone-1, which the dump does not have"},
		{name: "unknown policy", args: []string{"plan", "--dump", dump, "--policy", "nope"}, wantCode: 1, wantStderr: "nope"},
		{name: "unreachable cluster", args: []string{"plan", "--kubeconfig", kubeconfigTo(t, "https://127.0.0.1:1")}, wantCode: 1, wantStderr: "listing nodes from https://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run("rebalancer", tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if !strings.Contains(first, tc.wantStderr) {
				t.Errorf("stderr's first line %q lacks %q", first, tc.wantStderr)
			}
			if tc.wantCode == 2 && !strings.Contains(stderr, "Usage:") {
				t.Errorf("a usage error prints the usage on stderr:\n%s", stderr)
			}
			if tc.wantCode != 0 && stdout != "" {
				t.Errorf("printed on stdout before failing: %q", stdout)
			}
			if !strings.Contains(stdout, tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout)
			}
		})
	}
}

func TestKubectlPlugin(t *testing.T) {
	code, stdout, _ := run("/usr/local/bin/kubectl-rebalancer", "plan", "-h")
	if code != 0 || !strings.Contains(stdout, "kubectl rebalancer plan") {
		t.Errorf("as a kubectl plugin the usage says `kubectl rebalancer plan`: exit %d\n%s", code, stdout)
	}
}

// plan on a dump with hot nodes shows them and moves by default (steady state); the strict first
// cycle shows none hot; plan and simulate report the same lower bound.
func TestPlanShowsHotNodesAndMoves(t *testing.T) {
	code, table, stderr := run("rebalancer", "plan", "--dump", dump)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"PREDICTED TO", "as of 2026-06-01T12:00:00Z", "hot nodes 7", "as in the steady state", "Stopped by: "} {
		if !strings.Contains(table, want) {
			t.Errorf("plan table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "(no move)") || strings.Contains(table, "no fresh usage reading") {
		t.Errorf("plan shows no move or calls the readings stale:\n%s", table)
	}
	var plan, first struct {
		Moves      []any `json:"moves"`
		HotNodes   []any `json:"hotNodes"`
		LowerBound int   `json:"lowerBound"`
	}
	decode(t, &plan, "plan", "--dump", dump, "-o", "json")
	decode(t, &first, "plan", "--dump", dump, "-o", "json", "--first-cycle")
	if len(plan.Moves) == 0 || plan.LowerBound == 0 {
		t.Errorf("steady-state plan: %d moves, lower bound %d; want both > 0", len(plan.Moves), plan.LowerBound)
	}
	if len(first.HotNodes) != 0 || len(first.Moves) != 0 {
		t.Errorf("first cycle after a restart (one reading of %d needed): %d hot, %d moves; want none", 3, len(first.HotNodes), len(first.Moves))
	}
	var sim struct {
		LowerBound int   `json:"lowerBound"`
		Moves      []any `json:"moves"`
		Converged  bool  `json:"converged"`
	}
	decode(t, &sim, "simulate", "--dump", dump, "--cycles", "8", "-o", "yaml")
	if sim.LowerBound != plan.LowerBound {
		t.Errorf("lower bound: plan %d, simulate %d; want the same", plan.LowerBound, sim.LowerBound)
	}
	if len(sim.Moves) == 0 {
		t.Errorf("simulate lists no eviction")
	}
}

// A run held back by the hourly limit is not called converged, and the summary says how long the
// limit needs.
func TestRateLimitedRunIsNotConverged(t *testing.T) {
	limited := copyDump(t, func(name string, data []byte) []byte {
		if name == "rebalancer.yaml" {
			return bytes.Replace(data, []byte("maxEvictionsPerHour: 200"), []byte("maxEvictionsPerHour: 2"), 1)
		}
		return data
	})
	code, table, stderr := run("rebalancer", "simulate", "--dump", limited, "--cycles", "6")
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"HourlyLimit", "Not converged", "of 2 an hour allows in about", "CYCLE  POD"} {
		if !strings.Contains(table, want) {
			t.Errorf("simulate table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "Converged:") {
		t.Errorf("a rate-limited run is called converged:\n%s", table)
	}
}

func decode(t *testing.T, into any, args ...string) {
	t.Helper()
	code, out, stderr := run("rebalancer", args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	if args[len(args)-1] == "yaml" || strings.Contains(strings.Join(args, " "), "-o yaml") {
		data, err := yamlToJSON([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		out = string(data)
	}
	if err := json.Unmarshal([]byte(out), into); err != nil {
		t.Fatalf("%v: %v\n%.300s", args, err, out)
	}
}

// copyDump copies the test dump into a temporary directory, editing each file with edit.
func copyDump(t *testing.T, edit func(name string, data []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(dump)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dump, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), edit(e.Name(), data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// kubeconfigTo writes a kubeconfig for a server nothing listens on.
func kubeconfigTo(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: " + server + ", insecure-skip-tls-verify: true}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func yamlToJSON(data []byte) ([]byte, error) { return yaml.YAMLToJSON(data) }
