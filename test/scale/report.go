package main

import (
	"fmt"
	"maps"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

func yamlToObject(y string, into any) error { return yaml.Unmarshal([]byte(y), into) }

// Targets from the scale issue.
const (
	targetCycle = 2.0       // seconds, p99 at 30,000 pods
	targetRSS   = 300 << 20 // bytes
)

// markdown renders docs/scale.md.
func markdown(c config, rs []*result) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	rev, _ := exec.Command("git", "-C", c.root, "rev-parse", "--short", "HEAD").Output()
	w("# The Rebalancer at scale\n\n")
	w("Written by `make scale` (test/scale) on %s, commit %s, on a machine with %d CPUs; each size ran "+
		"for %s after the evictor's first plan. Everything ran on this one machine: kube-apiserver, etcd, "+
		"kube-controller-manager, kube-scheduler, kwok and metrics-server (kwokctl's binary runtime, "+
		"built from the pinned sources), the rebalancer-scheduler and the evictor. Run it again with:\n\n",
		time.Now().UTC().Format("2006-01-02"), strings.TrimSpace(string(rev)), runtime.NumCPU(), c.duration)
	w("```sh\nmake scale                          # 300 and 1,000 nodes, 30 pods a node\nmake scale SCALE_SIZES=300,1000,2000 # other sizes\n```\n\n")
	w("## What runs\n\n")
	w("- Nodes: a fifth Raspberry Pi 4s (4 CPU, 8Gi), the rest x86 servers (8 CPU, 32Gi), with the demo's NodeClasses. " +
		"30 pods a node: 26 background pods bound to each node (not opted in), 3 opted-in pods a node on average " +
		"(Deployments of 30, `rebalancer=ok`, `schedulerName: rebalancer-scheduler`) and one probe pod a node.\n")
	w("- The opted-in pods are created while only the last 30%% of the nodes (x86) are schedulable, so those nodes start hot " +
		"(about 0.88); the rest start cold (about 0.26).\n")
	w("- The evictor runs as its ServiceAccount with the chart's RBAC (manifests/install), in live mode, on the demo's policy " +
		"with a 10s interval (hack/demo/manifests/policy.yaml: 5 evictions a cycle, 30 an hour), confirming every move with the " +
		"scheduler's own configuration.\n")
	w("- Cycle time: every `Cycle done` line of the evictor's log (`cycleSeconds`: caches, usage read, follow-ups, plan, evictions, " +
		"statuses; the same figure `rebalancer_cycle_duration_seconds` observes). RSS and heap: the evictor's " +
		"`process_resident_memory_bytes` and `go_memstats_heap_inuse_bytes`, scraped every second, the largest value. API requests: " +
		"the kube-apiserver's audit log, with a policy that records only the evictor's ServiceAccount (test/scale/audit-policy.yaml). " +
		"Watch restarts: watch requests after the first plan (client-go ends every watch after 5 to 10 minutes by design and " +
		"opens it again from where it was, so a few are expected in a long run; a relist would show as a list of the same resource).\n")
	w("- Scheduler: its `scheduler_schedule_attempts_total{result=\"scheduled\"}` polled every 250 ms, from the first to the last " +
		"pod it placed, twice: the opted-in pods while 70%% of the nodes are cordoned (all pending before it starts), and then one " +
		"probe pod a node with every node schedulable, all pending before a fresh scheduler starts (every node is filtered and scored: " +
		"`percentageOfNodesToScore: 100`).\n\n")

	w("## Figures\n\n")
	w("| | %s |\n|---|%s\n", strings.Join(mapStr(rs, func(r *result) string { return fmt.Sprintf("%d nodes", r.nodes) }), " | "), strings.Repeat("---|", len(rs)))
	row := func(name string, f func(r *result) string) {
		w("| %s | %s |\n", name, strings.Join(mapStr(rs, f), " | "))
	}
	row("pods (all namespaces, at the end)", func(r *result) string { return fmt.Sprintf("%d", r.pods) })
	row("sandbox up and populated", func(r *result) string { return r.setup.Round(time.Second).String() })
	row("evictor: start to first plan", func(r *result) string { return r.firstPlan.Round(100 * time.Millisecond).String() })
	row("evictor: cycles measured", func(r *result) string { return fmt.Sprintf("%d", len(r.cycles)) })
	row("evictor: cycle p50 / p99 / max", func(r *result) string {
		return fmt.Sprintf("%.3f s / %.3f s / %.3f s", quantile(r.cycles, 0.5), quantile(r.cycles, 0.99), quantile(r.cycles, 1))
	})
	for _, ph := range phases {
		name := strings.TrimSuffix(ph, "Seconds")
		row("evictor: "+phaseNames[name]+" p50 / p99", func(r *result) string {
			return fmt.Sprintf("%.3f s / %.3f s", quantile(r.parts[ph], 0.5), quantile(r.parts[ph], 0.99))
		})
	}
	row("evictor: RSS (max)", func(r *result) string { return mib(r.evictorRSS) })
	row("evictor: heap in use (max)", func(r *result) string { return mib(r.heap) })
	row("evictor: evictions", func(r *result) string { return fmt.Sprintf("%d", r.evictions) })
	row("evictor: API requests, whole run", func(r *result) string { return fmt.Sprintf("%d", r.api.total) })
	row("evictor: API requests per cycle / per second (after the first plan)", func(r *result) string {
		cycles := max(len(r.cycles)-1, 1)
		return fmt.Sprintf("%.1f / %.2f", float64(r.api.inWindow)/float64(cycles), float64(r.api.inWindow)/r.window.Seconds())
	})
	row("evictor: watches opened at start / after the first plan (restarts)", func(r *result) string {
		return fmt.Sprintf("%d / %d", r.api.startWatches, r.api.restarts)
	})
	row("scheduler: opted-in pods placed, 30% of nodes schedulable", func(r *result) string {
		return fmt.Sprintf("%d in %.1f s: %.1f pods/s", r.initial.pods, r.initial.seconds, r.initial.rate())
	})
	row("scheduler: probe pods placed, every node schedulable and scored", func(r *result) string {
		return fmt.Sprintf("%d in %.1f s: %.1f pods/s", r.probe.pods, r.probe.seconds, r.probe.rate())
	})
	row("scheduler: RSS (max, second run)", func(r *result) string { return mib(r.schedulerRSS) })
	w("\n")

	w("## Against the targets\n\n")
	for _, r := range rs {
		if r.pods < 30000 {
			continue
		}
		p99 := quantile(r.cycles, 0.99)
		w("- %d nodes, %d pods: cycle p99 %.3f s against %.0f s: **%s**; evictor RSS %s against 300 MiB: **%s**.\n",
			r.nodes, r.pods, p99, targetCycle, verdict(p99 <= targetCycle), mib(r.evictorRSS), verdict(r.evictorRSS <= targetRSS))
	}
	if len(rs) >= 2 {
		a, z := rs[0], rs[len(rs)-1]
		size := float64(z.nodes) / float64(a.nodes)
		w("- Growth from %d to %d nodes (%.2fx the nodes and pods): cycle p50 %.2fx, plan p50 %.2fx, evictor RSS %.2fx, heap %.2fx, "+
			"API requests per cycle %.2fx, scheduler pods/s (every node scored) %.2fx. Linear growth would be %.2fx.\n",
			a.nodes, z.nodes, size, quantile(z.cycles, 0.5)/quantile(a.cycles, 0.5), quantile(z.plans, 0.5)/quantile(a.plans, 0.5),
			z.evictorRSS/a.evictorRSS, z.heap/a.heap, perCycle(z)/perCycle(a), z.probe.rate()/a.probe.rate(), size)
	}
	if len(rs) > 0 {
		z := rs[len(rs)-1]
		w("- Where it stops: %d nodes and %d pods is the largest size of this run; larger sizes were not run here. Every process of the sandbox (kube-apiserver, etcd, kwok, metrics-server) shares the machine's %d CPUs with both programs, so at larger sizes this run measures the sandbox as much as the Rebalancer. `make scale SCALE_SIZES=...` runs them where a machine allows.\n",
			z.nodes, z.pods, runtime.NumCPU())
	}
	w("\n## The evictor's requests by verb and resource\n\n")
	for _, r := range rs {
		w("%d nodes (whole run, %d requests):\n\n", r.nodes, r.api.total)
		keys := slices.Sorted(maps.Keys(r.api.byVerb))
		for _, k := range keys {
			w("- `%s`: %d\n", k, r.api.byVerb[k])
		}
		w("\n")
	}
	return b.String()
}

var phaseNames = map[string]string{"cache": "caches and follow-ups", "read": "usage read", "plan": "plan",
	"evict": "evictions (with fresh checks)", "status": "status writes"}

func perCycle(r *result) float64 { return float64(r.api.inWindow) / float64(max(len(r.cycles)-1, 1)) }

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func mapStr[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
