// Package app is the `rebalancer` command: what the Rebalancer would do to a cluster, read live
// (read-only) or from a dump. Installed as kubectl-rebalancer it is `kubectl rebalancer`.
package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/evictor/whatif"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/version"
)

// Exit codes: 0 done, 1 failed, 2 used wrongly (the usage goes to stderr).
const (
	exitFailed = 1
	exitUsage  = 2
)

// usageError is a mistake in the command line: exit 2 with the usage.
type usageError struct{ error }

// Main runs the command with args (args[0] is the program) and returns the exit code. now is
// the time a live plan is made at; a dump's plan is made as of when the dump was taken.
func Main(args []string, stdout, stderr io.Writer, now time.Time) int {
	root := newRoot(filepath.Base(args[0]), now)
	root.SetArgs(args[1:])
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(stderr, "%s: %v\n\n%s", root.Name(), err, cmd.UsageString())
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
	return exitFailed
}

func newRoot(program string, now time.Time) *cobra.Command {
	use, annotations := "rebalancer", map[string]string{}
	if program == "kubectl-rebalancer" {
		// kubectl runs kubectl-rebalancer for `kubectl rebalancer`: the usage says so.
		use = "kubectl rebalancer"
		annotations[cobra.CommandDisplayNameAnnotation] = use
	}
	root := &cobra.Command{
		Use:         "rebalancer",
		Annotations: annotations,
		Short:       "What the Rebalancer would do to your cluster",
		Long: `What the Rebalancer would do to your cluster, before you install it or change a policy.

It reads the cluster live with get and list only (the kubeconfig's current context, or --kubeconfig
and --context), or a dump made with "` + use + ` dump DIR" (or the kubectl commands below), and plans
with the Rebalancer's own planner and the schedulers' own code. It never writes to the cluster.

Dump with kubectl:
` + whatif.DumpCommands,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPlan(now), newSimulate(now), newDump(), newVersion())
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}

// source is where a command reads the cluster: a dump directory, or the live cluster.
type source struct {
	dump, kubeconfig, context string
	chunkSize                 int64
}

func (s *source) flags(fs *pflag.FlagSet) {
	fs.StringVar(&s.dump, "dump", "", "read a dump directory instead of the live cluster")
	s.liveFlags(fs)
}

// liveFlags are the flags of a live read.
func (s *source) liveFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&s.context, "context", "", "kubeconfig context (default: the current context)")
	fs.Int64Var(&s.chunkSize, "chunk-size", whatif.DefaultChunkSize, "objects a list request asks for, as kubectl's --chunk-size (0: each list in one response)")
}

// readLive lists the live cluster.
func (s *source) readLive(ctx context.Context) (whatif.Files, error) {
	cfg, err := s.restConfig()
	if err != nil {
		return nil, err
	}
	return whatif.ReadLiveChunked(ctx, cfg, s.chunkSize)
}

func (s *source) check() error {
	if s.dump != "" && (s.kubeconfig != "" || s.context != "") {
		return usageError{errors.New("--dump reads a dump; --kubeconfig and --context read a live cluster: give one or the other")}
	}
	return nil
}

// restConfig is the live cluster's client config, by the usual kubeconfig rules.
func (s *source) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: s.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "rebalancer-whatif/" + version.Get().Version
	cfg.Timeout = time.Minute
	return cfg, nil
}

// load reads the cluster. A live read is as of now; a dump as of when it was taken.
func (s *source) load(ctx context.Context, now time.Time) (*whatif.Dump, time.Time, error) {
	if s.dump != "" {
		d, err := whatif.LoadDir(s.dump)
		if err != nil {
			return nil, now, err
		}
		if t := d.Taken(); !t.IsZero() {
			now = t
		}
		return d, now, nil
	}
	files, err := s.readLive(ctx)
	if err != nil {
		return nil, now, err
	}
	d, err := whatif.LoadFiles(files)
	return d, now, err
}

// common are the flags plan and simulate share.
type common struct {
	source
	policy, output, schedulerConfig string
}

func (c *common) flags(fs *pflag.FlagSet) {
	c.source.flags(fs)
	fs.StringVar(&c.policy, "policy", "", "RebalancePolicy to use (needed when the cluster has several; none: the API's defaults, dry-run)")
	fs.StringVarP(&c.output, "output", "o", "table", "output format: table, json or yaml")
	fs.StringVar(&c.schedulerConfig, "scheduler-config", "", "the Rebalancer scheduler's KubeSchedulerConfiguration file (default: its built-in profile)")
}

func (c *common) check() error {
	if err := c.source.check(); err != nil {
		return err
	}
	switch c.output {
	case "table", "json", "yaml":
		return nil
	}
	return usageError{fmt.Errorf("--output must be table, json or yaml, not %q", c.output)}
}

// prepared is what plan and simulate start from: the cluster, the placement engine (Close it),
// the policy and the time to plan at.
type prepared struct {
	dump   *whatif.Dump
	engine *placement.Engine
	policy *v1alpha1.RebalancePolicy
	now    time.Time
}

func (p *prepared) close() { _ = p.engine.Close() }

func (c *common) prepare(ctx context.Context, now time.Time) (*prepared, error) {
	var schedCfg *schedconfig.KubeSchedulerConfiguration
	if c.schedulerConfig != "" {
		data, err := os.ReadFile(c.schedulerConfig)
		if err != nil {
			return nil, err
		}
		if schedCfg, err = placement.LoadConfig(data); err != nil {
			return nil, fmt.Errorf("%s: %w", c.schedulerConfig, err)
		}
	}
	d, now, err := c.load(ctx, now)
	if err != nil {
		return nil, err
	}
	policy, err := d.Policy(c.policy)
	if err != nil {
		return nil, err
	}
	engine, err := d.Engine(ctx, schedCfg)
	if err != nil {
		return nil, err
	}
	return &prepared{dump: d, engine: engine, policy: policy, now: now}, nil
}

// write writes v in the chosen format; table writes it for people. Everything is written to a
// buffer first: no partial output on error.
func write(w io.Writer, format string, v any, table func(io.Writer) error) error {
	var out bytes.Buffer
	var err error
	switch format {
	case "json":
		err = whatif.WriteJSON(&out, v)
	case "yaml":
		var data []byte
		if data, err = yaml.Marshal(v); err == nil {
			out.Write(data)
		}
	default:
		err = table(&out)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out.Bytes())
	return err
}

func newPlan(now time.Time) *cobra.Command {
	var c common
	var firstCycle bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "The plan the evictor would make now: moves, what is held back and why, budgets",
		Long: `The plan the evictor would make now: the moves, the candidates held back grouped by reason, the
lower bound on evictions (the same "simulate" reports), the budgets and the limit that binds.

By default the readings count as having held for as many readings as the policy's hysteresis
needs (the steady state); --first-cycle plans as the first cycle after a restart, when a node needs
that many readings before it is hot or cold.`,
		Example: "  rebalancer plan\n  rebalancer plan --context prod -o json\n  rebalancer plan --dump ./dump --policy default",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.check(); err != nil {
				return err
			}
			p, err := c.prepare(cmd.Context(), now)
			if err != nil {
				return err
			}
			defer p.close()
			r := whatif.Plan(p.dump, p.engine, p.policy, p.now, whatif.PlanOptions{FirstCycle: firstCycle})
			return write(cmd.OutOrStdout(), c.output, r, r.WriteTable)
		},
	}
	c.flags(cmd.Flags())
	cmd.Flags().BoolVar(&firstCycle, "first-cycle", false, "plan as the first cycle after a restart (one reading: nothing is hot yet)")
	return cmd
}

func newSimulate(now time.Time) *cobra.Command {
	var c common
	var (
		cycles int
		noise  float64
		seed   uint64
		moves  bool
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Cycles of the evictor in live mode on the cluster's readings: every eviction, and why it stops",
		Long: `Runs the evictor's cycles in live mode on the cluster's readings: the planner decides, and each
replacement is placed by the scheduler it names (the schedulers' own code). It lists every eviction
(cycle, pod, workload, from, predicted node, node it landed on, sigma before and after), why each
cycle stopped evicting, and says "converged" only when nothing was left to do; when a limit binds
it says how long the policy's limits need to finish at this rate.`,
		Example: "  rebalancer simulate --cycles 60\n  rebalancer simulate --dump ./dump --cycles 30 --noise 0.05 --moves",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.check(); err != nil {
				return err
			}
			if cycles < 1 {
				return usageError{errors.New("--cycles must be at least 1")}
			}
			if noise < 0 {
				return usageError{errors.New("--noise must not be negative")}
			}
			p, err := c.prepare(cmd.Context(), now)
			if err != nil {
				return err
			}
			defer p.close()
			live := p.policy.DeepCopy()
			live.Spec.DryRun = ptr.To(false) // what it would do live
			cfg, err := planner.Resolve(live, p.dump.PriorityClasses)
			if err != nil {
				return err
			}
			interval := time.Minute
			if live.Spec.Interval != nil {
				interval = live.Spec.Interval.Duration
			}
			res, err := whatif.Simulate(p.dump, &whatif.PlannerDecider{Policy: live, SLOs: p.dump.SLOs}, whatif.Options{
				Cycles: cycles, Interval: interval, Noise: noise, Seed: seed, Weights: cfg.Weights,
				Hysteresis: cfg.Hysteresis, Backoff: cfg.PodBackoff, Placement: p.engine,
			}, p.now)
			if err != nil {
				return err
			}
			out := struct {
				whatif.Result  `json:",inline"`
				EvictionsPerLB float64 `json:"evictionsPerLowerBound"`
			}{res, res.EvictionsPerLB()}
			return write(cmd.OutOrStdout(), c.output, out, func(w io.Writer) error { return res.WriteTable(w, moves) })
		},
	}
	c.flags(cmd.Flags())
	fs := cmd.Flags()
	fs.IntVar(&cycles, "cycles", 20, "cycles to simulate")
	fs.Float64Var(&noise, "noise", 0, "relative noise of each pod's usage between readings")
	fs.Uint64Var(&seed, "seed", 1, "seed of the noise and of the schedulers' tie-breaking")
	fs.BoolVar(&moves, "moves", false, "list every eviction in the table (always listed when there are at most 50, and always in json/yaml)")
	return cmd
}

func newDump() *cobra.Command {
	var s source
	cmd := &cobra.Command{
		Use:   "dump DIR",
		Short: "Write the live cluster into DIR, as the files plan --dump and simulate --dump read",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("dump takes one directory, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := s.readLive(cmd.Context())
			if err != nil {
				return err
			}
			// Load what was read, as plan --dump will: a dump that would not load is not written.
			if _, err := whatif.LoadFiles(files); err != nil {
				return err
			}
			if err := files.WriteDir(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d files into %s\n", len(files), args[0])
			return nil
		},
	}
	s.liveFlags(cmd.Flags())
	return cmd
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version.Get())
			return err
		},
	}
}
