//go:build e2e

package e2e_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pidRE finds the process ids in ss's users:(("name",pid=123,fd=4),...) column.
var pidRE = regexp.MustCompile(`pid=(\d+)`)

// TestSandboxDialsOnlyLoopback: no process of the sandbox (kwokctl's components, our scheduler
// and evictor) holds a TCP socket whose peer is outside 127.0.0.0/8 or ::1. It lives in this file
// so that it runs after the playbook, when every component has talked to the others.
func TestSandboxDialsOnlyLoopback(t *testing.T) {
	pids := sandboxPIDs(t)
	out, err := exec.Command("ss", "-tnpH").Output()
	if err != nil {
		t.Fatalf("Running ss -tnpH (make e2e installs iproute2): %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) < 6 {
			continue
		}
		ours := false
		for _, m := range pidRE.FindAllStringSubmatch(fields[5], -1) {
			if pid, _ := strconv.Atoi(m[1]); pids[pid] {
				ours = true
			}
		}
		if !ours {
			continue
		}
		checked++
		peer, err := netip.ParseAddrPort(fields[4])
		if err != nil {
			t.Errorf("Parsing the peer of %q: %v", line, err)
			continue
		}
		if !peer.Addr().Unmap().IsLoopback() {
			t.Errorf("A sandbox process talks to %s, outside loopback: %s", peer, strings.TrimSpace(line))
		}
	}
	if checked == 0 {
		t.Fatalf("ss shows no TCP socket of the sandbox's processes %v: the check checked nothing", pids)
	}
	t.Logf("Checked %d sockets of %d processes: all on loopback", checked, len(pids))
}

// sandboxPIDs: the processes kwokctl started (its pid files) and those this suite started.
func sandboxPIDs(t *testing.T) map[int]bool {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(home, ".kwok/clusters", clusterName, "pids", "*.pid"))
	if err != nil || len(files) == 0 {
		t.Fatalf("No pid files of kwokctl's cluster %s: %v", clusterName, err)
	}
	pids := map[int]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("Reading %s: %v", f, err)
		}
		pids[pid] = true
	}
	for _, p := range env.procs {
		pids[p.Process.Pid] = true
	}
	return pids
}
