package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tinorodney/rebalancer/evictor/planner/plannertest"
	"github.com/tinorodney/rebalancer/evictor/whatif"
)

// The targets of issue 8.
const (
	targetPerLB  = 1.25 // evictions <= 1.25 x LB
	targetShare  = 0.6  // final sigma <= descheduler's with <= 60% of its evictions
	targetOnCold = 0.95 // >= 95% of replacements on cold nodes
)

func markdown(rows []row, sens scenario, vrows []variantRow) string {
	var b strings.Builder
	writeIntro(&b)
	all := scenarios(false)
	if largest, full := rows[len(rows)-1].sc.nodes, all[len(all)-1].nodes; largest < full {
		fmt.Fprintf(&b, "This run holds the clusters of up to %d nodes only (`make decision-bench-quick`); `make decision-bench` adds the %d-node ones.\n\n", largest, full)
	} else if len(rows) < len(all) {
		fmt.Fprintf(&b, "This run holds %d of the %d clusters only (`-sizes`); `make decision-bench` runs them all.\n\n", len(rows), len(all))
	}
	writeResults(&b, rows)
	writeTargets(&b, rows)
	writeDefaultScheduler(&b, rows)
	writeConvergence(&b, rows, sens, vrows)
	return b.String()
}

// writeIntro says how the clusters and the runs are made.
func writeIntro(b *strings.Builder) {
	b.WriteString("# Decision quality: the Rebalancer against descheduler and the lower bound\n\n")
	fmt.Fprintf(b, "Made by `make decision-bench` (`cd test/bench && go run . -parallel 2 -out ../../docs`; `-json FILE` also writes every run cycle by cycle). Each cluster is seeded (plannertest.Cluster: "+
		"20 pods per node, 5 replicas per workload, 80%% opted in, some DaemonSet, StatefulSet, critical and pinned pods, PDBs on a quarter of workloads; "+
		"mixed clusters have a Raspberry Pi class, half the capacity, on a third of the nodes); the skew is the share of nodes given extra load. "+
		"Readings carry %.0f%% noise per pod per cycle; %d one-minute cycles, the last %d counted as stationary. "+
		"descheduler's plugin iterates Go maps, so its runs differ on the same cluster and readings: it runs %d times, the table shows "+
		"the run with the median final sigma and [the range] over all runs. "+
		"Both deciders use the same thresholds (hot %.2f, cold %.2f), the same per-cycle and per-node limits and the same readings. "+
		"Every replacement is placed by the real scheduler framework (pkg/placement, kube-scheduler v1.37.2's plugins): the rebalancer-scheduler "+
		"profile for the Rebalancer's pods, the default profile for the pods of `rebalancer (default scheduler)` and of descheduler; ties and sampling are drawn at random as kube-scheduler draws them. The policy is the default but for the rate limits "+
		"(max(5, nodes/20) evictions per cycle, 2 per node): minSigmaImprovement 0 (any drop), destinations Cold (a pod is evicted only when "+
		"its replacement is predicted on a cold node), hysteresis over 3 readings with margin 0.05. "+
		"LB is the planner's lower bound on the cluster's own readings, without noise, every node classified at once (evictions to bring "+
		"every node that really is hot under hot - margin, where it stops being hot); target sigma is half the initial sigma. Hot and cold are classified by the simulator itself with the policy's "+
		"hysteresis, the same for every decider.\n\n", noise*100, cycles, stationary, deschedulerRuns, plannertest.DefaultHot(), plannertest.DefaultCold())
}

// writeResults is the table of every decider on every cluster.
func writeResults(b *strings.Builder, rows []row) {
	b.WriteString("| cluster | decider | evictions | LB | evictions/LB | sigma start → end | evictions to target | hot nodes peak → end | minutes to balance | evictions in the stationary cycles | evictions after sigma stopped falling | last eviction in cycle | double evictions within backoff | replacements on cold nodes | on hot nodes | landed where predicted |\n")
	b.WriteString("|---|---|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		for _, x := range []whatif.Result{r.ours, r.oursDefault, r.desch, r.no} {
			ratio, target, cold, last := "—", "—", "—", "—"
			if x.LowerBound > 0 && x.Decider != "none" {
				ratio = fmt.Sprintf("%.2f", x.EvictionsPerLB())
			}
			if x.Decider != "none" {
				if x.ToTarget >= 0 {
					target = fmt.Sprint(x.ToTarget)
				} else {
					target = "not reached"
				}
				if x.Placed > 0 {
					cold = fmt.Sprintf("%.0f%% (%d/%d)", 100*x.ColdShare(), x.OnCold, x.Placed)
				}
				if c := lastEviction(x); c > 0 {
					last = fmt.Sprint(c)
				}
			}
			peak, end := hotNodes(x)
			evictions, sigma := fmt.Sprint(x.Evictions), fmt.Sprintf("%.4f → %.4f", x.InitialSigma, x.FinalSigma)
			if x.Decider == r.desch.Decider && r.deschRange.maxEvictions > 0 {
				sp := r.deschRange
				evictions += fmt.Sprintf(" [%d–%d]", sp.minEvictions, sp.maxEvictions)
				sigma += fmt.Sprintf(" [%.4f–%.4f]", sp.minSigma, sp.maxSigma)
			}
			balance, predicted := balanceText(x), "—"
			if x.Predicted > 0 {
				predicted = fmt.Sprintf("%.0f%% (%d/%d)", 100*float64(x.AsPredicted)/float64(x.Predicted), x.AsPredicted, x.Predicted)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %d → %d | %s | %d | %d | %s | %d | %s | %d | %s |\n", r.sc.name, x.Decider, evictions, x.LowerBound, ratio,
				sigma, target, peak, end, balance, x.AfterConverge, afterPlateau(x), last, x.Doubles, cold, x.OnHot, predicted)
		}
	}

}

// writeTargets checks the Rebalancer's figures against the targets.
func writeTargets(b *strings.Builder, rows []row) {
	fmt.Fprintf(b, "\nTargets (issue 8): evictions ≤ %.2f × LB; final sigma ≤ descheduler's with ≤ %.0f%% of its evictions; 0 evictions after convergence; "+
		"0 double evictions within backoff; ≥ %.0f%% of replacements on cold nodes.\n\n", targetPerLB, 100*targetShare, 100*targetOnCold)
	b.WriteString("The sigma target is judged as *the evictions the Rebalancer needs to reach descheduler's final sigma*, against all of " +
		"descheduler's. Read as totals it would count against us every eviction made after reaching that sigma, while the first target " +
		"(≤ 1.25 × LB) asks us to go on until the hot nodes are cleared: where descheduler stops short of LB, both cannot hold. " +
		"The totals are shown too.\n\n")
	b.WriteString("| cluster | evictions ≤ 1.25 LB | sigma ≤ descheduler's | evictions to reach its final sigma ≤ 60% of its evictions | (totals: all evictions ≤ 60% of its) | 0 after convergence | 0 doubles | ≥ 95% on cold |\n|---|---|---|---|---|---|---|---|\n")
	met := map[string]int{}
	for _, r := range rows {
		o, d := r.ours, r.desch
		perLB := o.LowerBound == 0 || float64(o.Evictions) <= targetPerLB*float64(o.LowerBound)
		sigma := o.FinalSigma <= d.FinalSigma
		reach := o.EvictionsTo(d.FinalSigma)
		reachOK := reach >= 0 && float64(reach) <= targetShare*float64(d.Evictions)
		reachText := "not reached: **missed**"
		if reach >= 0 {
			reachText = fmt.Sprintf("%d of %d: %s", reach, d.Evictions, yes(reachOK))
		}
		totals := fmt.Sprintf("%d of %d: %s", o.Evictions, d.Evictions, yes(float64(o.Evictions) <= targetShare*float64(d.Evictions)))
		coldOK := o.Placed == 0 || o.ColdShare() >= targetOnCold
		for k, ok := range map[string]bool{"lb": perLB, "sigma": sigma, "reach": reachOK, "late": o.AfterConverge == 0, "doubles": o.Doubles == 0, "cold": coldOK} {
			if ok {
				met[k]++
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.sc.name,
			yes(perLB), yes(sigma), reachText, totals, yes(o.AfterConverge == 0), yes(o.Doubles == 0), coldTarget(o))
	}
	n := len(rows)
	fmt.Fprintf(b, "| **clusters meeting it** | %d of %d | %d of %d | %d of %d | | %d of %d | %d of %d | %d of %d |\n",
		met["lb"], n, met["sigma"], n, met["reach"], n, met["late"], n, met["doubles"], n, met["cold"], n)

}

// writeDefaultScheduler checks the runs with pods on the default scheduler against their targets.
func writeDefaultScheduler(b *strings.Builder, rows []row) {
	b.WriteString("\n## The Rebalancer with pods on the default scheduler\n\n")
	b.WriteString("The same clusters and policy with the opted-in pods left on the default scheduler (no schedulerName). Every move is confirmed by the " +
		"placement engine running kube-scheduler's default profile; a move whose replacement the scheduler could put on an unacceptable node " +
		"(ties, or sampling in clusters over 100 nodes) is held back (UncertainDestination). Targets (issue 14): ≥ 95% of replacements on cold " +
		"nodes, evictions ≤ 1.25 × LB, no eviction after sigma stopped falling: sigma without the readings' noise (it changes only when a pod moves) " +
		"counts as having stopped falling at a cycle when all the evictions from that cycle on lowered it, together, by no more than a tenth of what as " +
		"many evictions lowered it by on average over the run. The last column is the rule on the noisy readings used until 2026-12-06 (no cycle " +
		"later than the first from which the readings' sigma never again falls more than 0.002 below its value then), which counted slow real " +
		"progress as evictions after sigma stopped: 5% noise per pod moves the readings' sigma by about 0.001 a reading, more than one eviction " +
		"moves it on a 200-node cluster.\n\n")
	b.WriteString("Most evictions in a cycle shows the pace: above 100 nodes kube-scheduler scores a sample, and once a move of the cycle depends on " +
		"its draw, a later candidate that may land on a node of that draw waits for the next cycle (AfterUncertainMove). Why the cycles stopped " +
		"counts every cycle of the run by the simulator's stop reason: UncertainDestination when candidates were held back because the scheduler " +
		"may put their replacement on a node that is not acceptable or depends on an earlier move's draw, ConfirmationLimit when the placement " +
		"engine's runs for the cycle ran out first.\n\n")
	b.WriteString("| cluster | ≥ 95% on cold | evictions ≤ 1.25 LB | 0 after sigma stopped falling | most evictions in a cycle | why the cycles stopped | minutes to balance | sigma without noise start → end | after sigma stopped falling, old rule on the noisy readings |\n|---|---|---|---|---:|---|---:|---|---:|\n")
	for _, r := range rows {
		o := r.oursDefault
		perLB := o.LowerBound == 0 || float64(o.Evictions) <= targetPerLB*float64(o.LowerBound)
		late := "met (0)"
		if pl := plateauOf(o); pl.late > 0 {
			_, end := hotNodes(o)
			late = fmt.Sprintf("%s (%d from cycle %d on, changing sigma by %+.4f together, %d nodes still hot at the end)", yes(false), pl.late, pl.cycle, pl.change, end)
		}
		most := 0
		for _, c := range o.Cycles {
			most = max(most, c.Evictions)
		}
		fmt.Fprintf(b, "| %s | %s | %s (%d vs LB %d) | %s | %d | %s | %s | %.4f → %.4f | %d |\n", r.sc.name, coldTarget(o), yes(perLB), o.Evictions, o.LowerBound, late, most,
			stops(o.Cycles), balanceText(o), o.InitialTrueSigma, o.FinalTrueSigma, afterNoisyPlateau(o))
	}

}

// stationaryStops counts why the stationary cycles of r stopped evicting (CycleResult.Stopped),
// the most common first: "Backoff ×40, ConfirmationLimit ×10".
func stationaryStops(r whatif.Result) string {
	return stops(r.Cycles[max(0, len(r.Cycles)-stationary):])
}

// stops counts why the cycles stopped evicting, the most common first.
func stops(cycles []whatif.CycleResult) string {
	by := map[string]int{}
	for _, c := range cycles {
		if c.Stopped != "" {
			by[c.Stopped]++
		}
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return by[keys[i]] > by[keys[j]] || by[keys[i]] == by[keys[j]] && keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, by[k])
	}
	if len(parts) == 0 {
		return "no reason recorded"
	}
	return strings.Join(parts, ", ")
}

// writeConvergence explains evictions in the stationary cycles and shows the policy variants.
func writeConvergence(b *strings.Builder, rows []row, sens scenario, vrows []variantRow) {
	b.WriteString("\n## Evictions after convergence\n\n")
	var late []string
	for _, r := range rows {
		if r.ours.AfterConverge > 0 {
			_, end := hotNodes(r.ours)
			late = append(late, fmt.Sprintf("%s: %d, with %d nodes hot and %d cold at the end; the stationary cycles stopped for %s", r.sc.name, r.ours.AfterConverge, end,
				r.ours.Cycles[len(r.ours.Cycles)-1].Cold, stationaryStops(r.ours)))
		}
	}
	if len(late) == 0 {
		b.WriteString("The Rebalancer evicted nothing in the stationary cycles of any cluster.\n\n")
	} else {
		fmt.Fprintf(b, "The Rebalancer evicted in the stationary cycles of %d of %d clusters (%s). "+
			"Traced pod by pod on the clusters of up to 200 nodes, these were threshold crossings that noise makes, where many nodes sit close to a threshold: "+
			"where hot nodes remain because the cold room ran out (destinations Cold), a node sitting just above the cold threshold now and "+
			"then gets three readings in a row under it, and pods move to it off nodes that really are hot, as many as its room and the cycle's limits allow; where every hot node was "+
			"cleared, a node sitting just under the hot threshold now and then gets three readings in a row over it, and one pod moves off it. "+
			"Where the stationary cycles stopped for ConfirmationLimit, the placement engine's runs for the cycle ran out before every candidate was confirmed, "+
			"and the evictions are the slow end of real progress (a few moves a cycle) rather than noise. "+
			"No pod moves back and forth (no double evictions).\n\n", len(late), len(rows), strings.Join(late, "; "))
	}
	fmt.Fprintf(b, "The table below measures what a longer hysteresis, the old sigma floor and the other destinations change on %s, "+
		"with the pods on rebalancer-scheduler unless it says the default scheduler.\n\n", sens.name)
	b.WriteString("| policy | evictions | evictions/LB | sigma end | hot nodes at the end | evictions in the stationary cycles | last eviction in cycle | double evictions | replacements on cold nodes | on hot nodes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, v := range vrows {
		x := v.res
		_, end := hotNodes(x)
		last := "—"
		if c := lastEviction(x); c > 0 {
			last = fmt.Sprint(c)
		}
		cold := "—"
		if x.Placed > 0 {
			cold = fmt.Sprintf("%.0f%%", 100*x.ColdShare())
		}
		fmt.Fprintf(b, "| %s | %d | %.2f | %.4f | %d | %d | %s | %d | %s | %d |\n", v.v.name, x.Evictions, x.EvictionsPerLB(), x.FinalSigma, end, x.AfterConverge, last, x.Doubles, cold, x.OnHot)
	}
	b.WriteString("\n![sigma against evictions](sigma-vs-evictions.png)\n")
}

// plateauShare decides when sigma has stopped falling. Sigma is read without the readings' noise
// (whatif.CycleResult.TrueSigma: it changes only when a pod moves), and it counts as having stopped
// falling at the start of cycle p when all the evictions from p on lowered it, together, by no more
// than plateauShare of what as many evictions lowered it by on average over the whole run: an
// order of magnitude below the run's own return per eviction, the scale of one move on that
// cluster. A run whose evictions did not lower sigma at all stopped falling before its first.
const plateauShare = 0.1

// noisyPlateauTolerance is the rule on the noisy readings that this benchmark used until
// 2026-12-06, kept as a second column: no cycle later than the first from which the readings'
// sigma never again falls more than 0.002 below its value then. 5% noise per pod moves that sigma
// by about 0.001 from one reading to the next, more than one eviction moves it on a 200-node
// cluster, so it counts slow real progress (and noise) as evictions after sigma stopped.
const noisyPlateauTolerance = 0.002

// afterPlateau counts the evictions made after sigma stopped falling (plateauShare).
func afterPlateau(r whatif.Result) int {
	return plateauOf(r).late
}

// plateau is where sigma stopped falling in a run and what the evictions after it did.
type plateau struct {
	// late is how many evictions came in cycle and after it, and change what they changed the
	// noise-free sigma by together (negative: lowered).
	late   int
	cycle  int
	change float64
}

func plateauOf(r whatif.Result) plateau {
	n := len(r.Cycles)
	if r.Evictions == 0 || n == 0 {
		return plateau{}
	}
	// sigma[i] is the noise-free sigma at the start of cycle i, sigma[n] after the last cycle;
	// lowest[i] the lowest from i on, and from[i] the evictions from cycle i on.
	sigma := make([]float64, n+1)
	for i, c := range r.Cycles {
		sigma[i] = c.TrueSigma
	}
	sigma[n] = r.FinalTrueSigma
	lowest, from := make([]float64, n+1), make([]int, n+1)
	lowest[n] = sigma[n]
	for i := n - 1; i >= 0; i-- {
		lowest[i], from[i] = min(lowest[i+1], sigma[i]), from[i+1]+r.Cycles[i].Evictions
	}
	perEviction := max(0, (sigma[0]-sigma[n])/float64(r.Evictions))
	for p := range n {
		if from[p] == 0 {
			break
		}
		if sigma[p]-lowest[p] <= plateauShare*float64(from[p])*perEviction {
			return plateau{late: from[p], cycle: r.Cycles[p].Cycle, change: sigma[n] - sigma[p]}
		}
	}
	return plateau{}
}

// afterNoisyPlateau counts the evictions after sigma stopped falling by the old rule on the noisy
// readings (noisyPlateauTolerance).
func afterNoisyPlateau(r whatif.Result) int {
	n := len(r.Cycles)
	lowest := make([]float64, n+1)
	lowest[n] = math.Inf(1)
	for i := n - 1; i >= 0; i-- {
		lowest[i] = min(lowest[i+1], r.Cycles[i].Sigma)
	}
	for p := range r.Cycles {
		if lowest[p] >= r.Cycles[p].Sigma-noisyPlateauTolerance {
			late := 0
			for _, c := range r.Cycles[p+1:] {
				late += c.Evictions
			}
			return late
		}
	}
	return 0
}

// balanceText is minutesToBalance for the tables: "never" when some node stayed hot.
func balanceText(r whatif.Result) string {
	if m := minutesToBalance(r); m >= 0 {
		return fmt.Sprint(m)
	}
	return "never"
}

// minutesToBalance is how many minutes passed until no node was hot (the simulator's own
// classification), -1 if some node stayed hot.
func minutesToBalance(r whatif.Result) int {
	for i, c := range r.Cycles {
		if c.Hot == 0 {
			done := true
			for _, later := range r.Cycles[i:] {
				done = done && later.Hot == 0
			}
			if done {
				return i
			}
		}
	}
	return -1
}

// hotNodes is the most nodes the simulator classified hot in any cycle, and how many at the end.
func hotNodes(r whatif.Result) (peak, end int) {
	for _, c := range r.Cycles {
		peak = max(peak, c.Hot)
	}
	if len(r.Cycles) > 0 {
		end = r.Cycles[len(r.Cycles)-1].Hot
	}
	return peak, end
}

// lastEviction is the last cycle that evicted anything, 0 if none did.
func lastEviction(r whatif.Result) int {
	for i := len(r.Cycles) - 1; i >= 0; i-- {
		if r.Cycles[i].Evictions > 0 {
			return r.Cycles[i].Cycle
		}
	}
	return 0
}

// coldTarget: no replacement at all leaves nothing to measure.
func coldTarget(r whatif.Result) string {
	if r.Placed == 0 {
		return "— (no eviction)"
	}
	return yes(r.ColdShare() >= targetOnCold)
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
