// Command evictor is the Rebalancer's evictor: it moves opted-in pods off hot nodes through the
// eviction API, within every budget. This file only wires flags, the manager and the controller.
package main

import (
	"cmp"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor"
	"github.com/tinorodney/rebalancer/evictor/dashboard"
	"github.com/tinorodney/rebalancer/pkg/memlimit"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// options are the evictor's command-line flags.
type options struct {
	metricsAddr, probeAddr, pprofAddr, promAddr, leaderNS string
	leaderElect, secureMetrics, dryRunOnly                bool
	schedulerConfig, defaultSchedulerConfig               string
	schedulerLease                                        string
	replacementWait                                       time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint (and the /dashboard page) binds to; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address Go's /debug/pprof profiles are served on, e.g. 127.0.0.1:8082 (reach it with kubectl port-forward); empty or 0 disables it.")
	flag.StringVar(&o.promAddr, "prometheus-address", "", "Prometheus server for policies with spec.metrics.source prometheus that name no address, e.g. http://prometheus-operated.monitoring:9090.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica evicts.")
	flag.StringVar(&o.leaderNS, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the pod's namespace).")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", false, "Serve metrics over HTTPS behind Kubernetes authentication and authorization (TokenReview and SubjectAccessReview).")
	flag.BoolVar(&o.dryRunOnly, "dry-run", false, "Never evict, whatever the policies say: every policy behaves as if spec.dryRun were true.")
	flag.StringVar(&o.schedulerConfig, "scheduler-config", "", "The Rebalancer scheduler's KubeSchedulerConfiguration file, the one its --config reads (the chart mounts the same ConfigMap); default: its built-in profile. Every planned move is confirmed by running that scheduler's plugins.")
	flag.StringVar(&o.defaultSchedulerConfig, "default-scheduler-config", "", "The cluster's default kube-scheduler KubeSchedulerConfiguration, when it is not kube-scheduler's defaults.")
	flag.StringVar(&o.schedulerLease, "scheduler-lease", "", "NAMESPACE/NAME of the Rebalancer scheduler's leader Lease: pods it places are not evicted while no replica leads (SchedulerUnavailable). Empty: not checked.")
	flag.DurationVar(&o.replacementWait, "replacement-wait", evictor.DefaultReplacementWait, "In a cycle whose moves land where their scheduler's scores send them, how long each eviction waits for the previous one's replacement to be bound before the next is made, so replacements are scheduled in the order the plan predicted them; 0: no wait.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if o.replacementWait < 0 {
		fmt.Fprintf(os.Stderr, "--replacement-wait=%s: must not be negative\n", o.replacementWait)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if soft, err := memlimit.Set("/sys/fs/cgroup"); err != nil {
		ctrl.Log.Error(err, "Reading the container's memory limit; the Go runtime has none")
	} else if soft > 0 {
		ctrl.Log.Info("Go runtime memory limit set below the container's", "bytes", soft, "ratio", memlimit.Ratio)
	}
	if memlimit.SetGCPercent(memlimit.EvictorGCPercent) {
		ctrl.Log.Info("Go garbage-collection target set (GOGC unset)", "percent", memlimit.EvictorGCPercent)
	}
	if err := run(o); err != nil {
		ctrl.Log.Error(err, "Evictor stopped")
		os.Exit(1)
	}
}

func run(o options) error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	m := metrics.NewEvictor()
	if err := m.Register(ctrlmetrics.Registry); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	history := dashboard.NewHistory()
	pages := dashboard.Handler(history)
	// With leader election, a standby's dashboard answers the API from the leader, found through
	// the Lease whose holder names the leader's pod (the chart passes POD_NAME and POD_NAMESPACE).
	podName, podNS := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if o.leaderNS == "" {
		o.leaderNS = podNS
	}
	lease := types.NamespacedName{Namespace: o.leaderNS, Name: evictor.LeaderElectionID}
	leader := &evictor.LeaseLeader{Lease: lease, PodNamespace: podNS, PortName: "http-metrics", Scheme: "http"}
	fwd := dashboard.Forwarding{}
	if o.secureMetrics {
		// The leader's serving certificate is self-signed (controller-runtime makes one per
		// process), so it cannot be verified; the request carries the caller's own token, which
		// the leader authenticates and authorizes as it would the caller's.
		leader.Scheme = "https"
		fwd = dashboard.Forwarding{Credentials: true, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // see above
		}}
	}
	if o.leaderElect {
		pages = dashboard.FollowLeader(pages, leader, fwd)
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, ExtraHandlers: map[string]http.Handler{}}
	for _, path := range dashboard.Paths {
		metricsOpts.ExtraHandlers[path] = pages
	}
	if o.secureMetrics {
		metricsOpts.SecureServing = true
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	opts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              lease.Name,
		LeaderElectionNamespace:       lease.Namespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         evictor.CacheOptions(),
		Client:                        evictor.ClientOptions(),
	}
	if o.leaderElect && podName != "" {
		if opts.LeaderElectionResourceLockInterface, err = evictor.LeaderLock(cfg, lease, podName, 10*time.Second); err != nil {
			return err
		}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	leader.Reader, leader.Elected = mgr.GetAPIReader(), mgr.Elected()
	mc, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating metrics.k8s.io client: %w", err)
	}
	var live evictor.Executor = evictor.Live{Evicter: evictor.SubResourceEvicter{Client: mgr.GetClient()}, Metrics: m}
	dry := evictor.DryRun{Metrics: m}
	if o.dryRunOnly {
		live = dry
	}
	r := &evictor.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Live: live, DryRun: dry,
		Recorder:  mgr.GetEventRecorder("rebalancer-evictor"),
		Sources:   &evictor.Sources{MetricsServer: &usage.MetricsServer{Client: mc}, PrometheusAddress: o.promAddr, Clock: clock.RealClock{}},
		Metrics:   m,
		Clock:     clock.RealClock{},
		Observers: []evictor.Observer{history},
		// The Reconciler reads 0 as its default and a negative wait as none.
		ReplacementWait: cmp.Or(o.replacementWait, -1),
	}
	ctx := ctrl.SetupSignalHandler()
	engine, err := evictor.NewPlacementEngine(ctx, cfg, o.schedulerConfig, o.defaultSchedulerConfig)
	if err != nil {
		return err
	}
	if err := mgr.Add(engine); err != nil {
		return err
	}
	r.Placement, r.PlacementSynced = engine.Engine, engine.Synced
	if r.SchedulerLeases, err = evictor.SchedulerLeases(engine.Engine, o.schedulerLease); err != nil {
		return err
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("caches not synced")
		}
		if !r.Pods.HasSynced() {
			return fmt.Errorf("pod cache not synced")
		}
		if !engine.Synced() {
			return fmt.Errorf("placement engine not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	ctrl.Log.Info("Starting the evictor", "metrics", o.metricsAddr, "probes", o.probeAddr, "leaderElection", o.leaderElect, "dryRunOnly", o.dryRunOnly)
	return mgr.Start(ctx)
}
