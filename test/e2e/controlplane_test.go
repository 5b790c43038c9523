//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Faults of the cluster's own processes, each a real process of the sandbox killed with SIGKILL
// and started again with the command line, directory and environment it ran with (as a kubelet
// restarts a static pod): the kube-apiserver restarted in the middle of the evictor's work, etcd
// stopped for 20s, metrics-server stopped for three cycles. Each starts once the evictor has
// evicted its first pod (mid-run, with moves still to make), and the invariants are read from the
// API server afterwards: one ledger entry per evicted pod, the hourly limit kept, no workload
// evicted twice within its backoff (10m here), no eviction while readings could not be read, the
// evictor still running and Ready again.
func TestControlPlaneFaults(t *testing.T) {
	for _, tc := range []struct {
		name, component string
		down            time.Duration
		// readingsLost: the usage source is what is down; nothing may be evicted meanwhile and
		// the status must say so.
		readingsLost bool
	}{
		{name: "kube-apiserver restarted", component: "kube-apiserver"},
		{name: "etcd stopped 20s", component: "etcd", down: 20 * time.Second},
		{name: "metrics-server stopped 3 cycles", component: "metrics-server", down: 3 * cycle, readingsLost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "e2e-" + tc.component
			ws := []workload{
				{name: "web", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
				{name: "api", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
				{name: "db", namespace: ns, replicas: 3, use: hotUsage, optIn: true},
			}
			namespace(t, ns)
			placeOn(t, ws...)
			before := owners(t, ws...)
			policy(t, false, func(s *v1alpha1.RebalancePolicySpec) {
				s.RateLimits.MaxEvictionsPerCycle = ptr.To[int32](1)
				s.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](1)
				s.RateLimits.MaxEvictionsPerHour = ptr.To[int32](3)
				s.PodBackoff = &metav1.Duration{Duration: 10 * time.Minute}
			})
			evictions := func() float64 {
				return value(evictorMetrics(t), "rebalancer_evictions_total", map[string]string{"namespace": ns})
			}
			waitUntil(t, 3*time.Minute, "the first eviction", func(context.Context) (bool, error) { return evictions() >= 1, nil })

			// Every process of the control plane as it runs now: one that exits during the
			// outage (kube-controller-manager and kube-scheduler exit when they cannot renew their
			// leader Lease) is started again afterwards, as a kubelet restarts a static pod.
			all := map[string]*component{}
			for _, name := range sandboxComponentNames {
				all[name] = sandboxComponent(t, name)
			}
			c := all[tc.component]
			c.kill(t)
			atKill := evictions()
			time.Sleep(tc.down)
			if tc.readingsLost {
				if got := evictions(); got != atKill {
					t.Errorf("%v evictions while %s was down, want none", got-atKill, tc.component)
				}
				p := policyNow(t)
				if cond := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); cond == nil || cond.Status != metav1.ConditionFalse {
					t.Errorf("MetricsAvailable %+v while metrics-server was down, want False", cond)
				}
			}
			c.restart(t)
			for _, name := range sandboxComponentNames {
				if other := all[name]; other != c && !other.running() {
					t.Logf("%s exited during the outage; started again, as a kubelet would", name)
					other.restart(t)
				}
			}
			if err := waitHTTP("http://"+probeAddr+"/readyz", 2*time.Minute); err != nil {
				t.Fatalf("the evictor is not ready after %s came back: %v", tc.component, err)
			}
			restartSchedulerIfExited(t)
			t.Logf("injected: %s killed (SIGKILL) after the first eviction, down %s, started again", tc.component, tc.down)

			waitUntil(t, 4*time.Minute, "evictions resume", func(context.Context) (bool, error) { return evictions() >= atKill+1, nil })
			after := policyNow(t).Status.LastCycleTime
			waitUntil(t, 2*time.Minute, "two more cycles", func(context.Context) (bool, error) {
				p := policyNow(t)
				return p.Status.LastCycleTime != nil && after != nil && p.Status.LastCycleTime.Sub(after.Time) >= 2*cycle-time.Second, nil
			})

			p := policyNow(t)
			evicted, byWorkload := evictedSince(t, before, ws...)
			entries := ledgerEntries(p, ns)
			if evicted != entries || evicted > 3 {
				t.Errorf("%d pods evicted, %d ledger entries: want one entry per eviction, at most 3 (the hourly limit): %+v", evicted, entries, p.Status.Ledger)
			}
			for wl, n := range byWorkload {
				if n > 1 {
					t.Errorf("workload %s evicted %d times within its 10m backoff", wl, n)
				}
			}
			if cond := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); cond == nil || cond.Status != metav1.ConditionTrue {
				t.Errorf("Ready %+v after %s came back, want True", cond, tc.component)
			}
			t.Logf("held: %d evictions, %d ledger entries, by workload %v; the evictor Ready again, the status Ready True", evicted, entries, byWorkload)
		})
	}
}

func policyNow(t *testing.T) *v1alpha1.RebalancePolicy {
	t.Helper()
	var p v1alpha1.RebalancePolicy
	if err := env.c.Get(context.Background(), types.NamespacedName{Name: "default"}, &p); err != nil {
		t.Fatalf("Reading the policy: %v", err)
	}
	return &p
}

// restartSchedulerIfExited starts the rebalancer-scheduler again when it exited, as a kubelet
// would: kube-scheduler exits when it cannot renew its leader Lease (an API server or etcd down
// for longer than its renew deadline).
func restartSchedulerIfExited(t *testing.T) {
	t.Helper()
	if alive(env.scheduler.Process.Pid) {
		return
	}
	t.Log("the rebalancer-scheduler exited during the outage (its leader Lease could not be renewed); started again, as a kubelet would")
	if err := env.startScheduler(); err != nil {
		t.Fatal(err)
	}
}

// sandboxComponentNames are the processes kwokctl starts for the sandbox (its pid files).
var sandboxComponentNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller", "metrics-server"}

// component is a process kwokctl started for the sandbox, as /proc describes it.
type component struct {
	name, pidFile, dir string
	pid                int
	args, environ      []string
}

// sandboxComponent reads the command line, directory and environment of the running process
// kwokctl started under that name (its pid file).
func sandboxComponent(t *testing.T, name string) *component {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &component{name: name, pidFile: filepath.Join(home, ".kwok/clusters", clusterName, "pids", name+".pid")}
	raw, err := os.ReadFile(c.pidFile)
	if err != nil {
		t.Fatalf("The pid file of %s: %v", name, err)
	}
	if c.pid, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
		t.Fatalf("%s: %v", c.pidFile, err)
	}
	proc := fmt.Sprintf("/proc/%d/", c.pid)
	split := func(file string) []string {
		b, err := os.ReadFile(proc + file)
		if err != nil {
			t.Fatalf("%s of %s: %v", file, name, err)
		}
		return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	c.args, c.environ = split("cmdline"), split("environ")
	if c.dir, err = os.Readlink(proc + "cwd"); err != nil {
		t.Fatalf("The directory of %s: %v", name, err)
	}
	return c
}

// running says whether the process still runs.
func (c *component) running() bool { return alive(c.pid) }

// alive says whether the process runs: it exists and has not exited unreaped.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil && !zombie(pid) }

// kill sends SIGKILL and waits until the process is gone.
func (c *component) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(c.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("Killing %s (%d): %v", c.name, c.pid, err)
	}
	waitUntil(t, 30*time.Second, c.name+" is gone", func(context.Context) (bool, error) { return !c.running(), nil })
}

// restart starts the process again as it ran and records its pid where kwokctl looks for it (so
// that deleting the sandbox stops it).
func (c *component) restart(t *testing.T) {
	t.Helper()
	// A start that exits at once (a port not yet released by the killed process) is tried again,
	// as a kubelet restarts a container that exits.
	for attempt := 1; ; attempt++ {
		log, err := os.Create(filepath.Join(env.bin, "sandbox", clusterName, fmt.Sprintf("%s-restarted-%d.log", c.name, attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(c.args[0], c.args[1:]...) //nolint:gosec // the sandbox's own process, as it ran
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.dir, c.environ, log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("Starting %s again: %v", c.name, err)
		}
		env.procs = append(env.procs, cmd)
		c.pid = cmd.Process.Pid
		time.Sleep(3 * time.Second)
		if alive(c.pid) {
			break
		}
		if attempt == 5 {
			t.Fatalf("%s exited right after each of %d starts (see %s)", c.name, attempt, log.Name())
		}
		t.Logf("%s exited right after start %d (see %s); starting it again", c.name, attempt, log.Name())
	}
	if err := os.WriteFile(c.pidFile, []byte(strconv.Itoa(c.pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the API server and the metrics API answer", func(ctx context.Context) (bool, error) {
		var nodes corev1.NodeList
		if err := env.c.List(ctx, &nodes); err != nil {
			return false, nil //nolint:nilerr // retried
		}
		return kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes") == nil, nil
	})
}

// zombie says whether the process has exited but not been reaped (its parent is gone), with every
// thread of it gone: a killed multi-threaded process's main thread shows as a zombie while its
// other threads are still exiting, and until the last of them has, its files (its listening
// sockets) stay open.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true
	}
	state, threads := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "State":
			state = strings.TrimSpace(v)
		case "Threads":
			threads = strings.TrimSpace(v)
		}
	}
	return strings.HasPrefix(state, "Z") && (threads == "" || threads == "1")
}

// Fault: metrics-server returns a partial node list. One node's resource-metrics path is made
// wrong, so the real metrics-server's scrape of that node fails and it drops the node from the
// metrics API (the others stay). Held, from the policy's status: the node is listed as left out
// (NoReading), MetricsAvailable says PartialReadings rather than "fine", the other nodes are
// still balanced; with the path restored the node is back in the cycle.
func TestMetricsServerPartialNodeList(t *testing.T) {
	const node = "arm-2"
	policy(t, true, nil)
	waitUntil(t, 3*time.Minute, "a cycle with every node read", func(context.Context) (bool, error) {
		p := policyNow(t)
		return p.Status.Sigma != nil && p.Status.ExcludedNodeCount == 0, nil
	})
	var n corev1.Node
	if err := env.c.Get(context.Background(), types.NamespacedName{Name: node}, &n); err != nil {
		t.Fatal(err)
	}
	const key = "metrics.k8s.io/resource-metrics-path"
	good := n.Annotations[key]
	setPath := func(path string) {
		t.Helper()
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, path)
		if err := kubectl("patch", "node", node, "--type", "merge", "-p", patch); err != nil {
			t.Fatal(err)
		}
	}
	setPath("/metrics/nodes/" + node + "/no-such-path")
	restored := false
	t.Cleanup(func() {
		if !restored {
			setPath(good)
		}
	})
	t.Logf("injected: metrics-server cannot scrape %s (its resource-metrics path is wrong)", node)

	excluded := func(p *v1alpha1.RebalancePolicy) bool {
		for _, x := range p.Status.ExcludedNodes {
			if x.Name == node && x.Reason == "NoReading" {
				return true
			}
		}
		return false
	}
	waitUntil(t, 3*time.Minute, node+" is left out for lack of a reading", func(context.Context) (bool, error) {
		p := policyNow(t)
		return excluded(p) && p.Status.ExcludedNodeCount == 1, nil
	})
	p := policyNow(t)
	cond := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable)
	if cond == nil || cond.Reason != v1alpha1.ReasonPartialReadings || !strings.Contains(cond.Message, "1 of the") {
		t.Errorf("MetricsAvailable %+v with %s unread, want reason %s naming one node left out", cond, node, v1alpha1.ReasonPartialReadings)
	}
	// The same cycle that left the node out balanced the others: a sigma and a plan, not the
	// fail-closed status of a cycle without readings.
	if p.Status.Sigma == nil || p.Status.LastPlan == nil {
		t.Errorf("sigma %v, lastPlan %+v with %s unread: the other nodes must still be balanced", p.Status.Sigma, p.Status.LastPlan, node)
	}

	setPath(good)
	restored = true
	waitUntil(t, 3*time.Minute, node+" is read again", func(context.Context) (bool, error) {
		return !excluded(policyNow(t)), nil
	})
	if cond := meta.FindStatusCondition(policyNow(t).Status.Conditions, v1alpha1.ConditionMetricsAvailable); cond == nil || cond.Reason != v1alpha1.ReasonMetricsFresh {
		t.Errorf("MetricsAvailable %+v with every node read again, want %s", cond, v1alpha1.ReasonMetricsFresh)
	}
	if t.Failed() {
		return
	}
	t.Logf("held: %s listed in status.excludedNodes as NoReading and MetricsAvailable PartialReadings while unread; back in the cycle once read", node)
}
