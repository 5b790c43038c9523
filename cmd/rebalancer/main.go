// Command rebalancer answers "what would the Rebalancer do to my cluster?" from a dump:
//
//	rebalancer plan --dump DIR [--policy NAME] [--output table|json]
//	rebalancer simulate --dump DIR --cycles N [--noise 0.05] [--seed 1] [--output table|json]
//
// Make the dump with the commands `rebalancer help` prints.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/whatif"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "rebalancer:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `Usage:
  rebalancer plan --dump DIR [--policy NAME] [--output table|json]
  rebalancer simulate --dump DIR --cycles N [--policy NAME] [--noise 0.05] [--seed 1] [--output table|json]

Make the dump directory with:
%s
`, whatif.DumpCommands)
}

func run(args []string, stdout io.Writer, now time.Time) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dump", "", "directory holding the dump")
	policyName := fs.String("policy", "", "RebalancePolicy to use (needed when the dump has several)")
	output := fs.String("output", "table", "table or json")
	cycles := fs.Int("cycles", 20, "cycles to simulate")
	noise := fs.Float64("noise", 0, "relative noise of each pod's usage between readings (simulate)")
	seed := fs.Uint64("seed", 1, "seed of the noise and of the scheduler's tie-breaking (simulate)")
	schedulerConfig := fs.String("scheduler-config", "", "the Rebalancer scheduler's KubeSchedulerConfiguration file (default: its built-in profile)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dump DIR is required")
	}
	if *output != "table" && *output != "json" {
		return fmt.Errorf("--output must be table or json, not %q", *output)
	}
	d, err := whatif.LoadDir(*dir)
	if err != nil {
		return err
	}
	policy, err := d.Policy(*policyName)
	if err != nil {
		return err
	}
	// Plan as of when the dump was made: its readings are fresh then, however late it is read.
	if t := d.Taken(); !t.IsZero() {
		now = t
	}
	var schedCfg *schedconfig.KubeSchedulerConfiguration
	if *schedulerConfig != "" {
		data, rerr := os.ReadFile(*schedulerConfig)
		if rerr != nil {
			return rerr
		}
		if schedCfg, err = placement.LoadConfig(data); err != nil {
			return fmt.Errorf("%s: %w", *schedulerConfig, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	engine, err := d.Engine(ctx, schedCfg)
	if err != nil {
		return err
	}
	defer engine.Close()
	// Everything is computed before anything is printed: no partial output on error.
	var out bytes.Buffer
	switch args[0] {
	case "plan":
		r := whatif.Plan(d, engine, policy, now)
		if *output == "json" {
			err = whatif.WriteJSON(&out, r)
		} else {
			err = r.WriteTable(&out)
		}
	case "simulate":
		if *cycles < 1 {
			return errors.New("--cycles must be at least 1")
		}
		live := policy.DeepCopy()
		live.Spec.DryRun = ptr.To(false) // simulate what it would do live
		cfg, rerr := planner.Resolve(live, d.PriorityClasses)
		if rerr != nil {
			return rerr
		}
		interval := time.Minute
		if live.Spec.Interval != nil {
			interval = live.Spec.Interval.Duration
		}
		res, serr := whatif.Simulate(d, &whatif.PlannerDecider{Policy: live, SLOs: d.SLOs}, whatif.Options{
			Cycles: *cycles, Interval: interval, Noise: *noise, Seed: *seed, Weights: cfg.Weights,
			Hysteresis: cfg.Hysteresis, Backoff: cfg.PodBackoff, Placement: engine,
		}, now)
		if serr != nil {
			return serr
		}
		if *output == "json" {
			err = whatif.WriteJSON(&out, struct {
				whatif.Result
				EvictionsPerLB float64 `json:"evictionsPerLowerBound"`
			}{res, res.EvictionsPerLB()})
		} else {
			err = res.WriteTable(&out)
		}
	default:
		usage(&out)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}
