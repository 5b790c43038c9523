package nodeclassfit

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/dynamic"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/utils/clock"

	"github.com/tinorodney/rebalancer/pkg/usage"
)

// Option changes how NewFactory builds the plugin. The defaults are what kube-scheduler needs;
// options exist for programs that embed the scheduler and for tests.
type Option func(*options)

type options struct {
	source     usage.Source
	clock      clock.WithTicker
	registerer prometheus.Registerer
	dynamic    dynamic.Interface
	onSnapshot func(Summary)
}

func defaultOptions() *options {
	return &options{clock: clock.RealClock{}, registerer: legacyregistry.Registerer()}
}

// WithSource reads usage from s instead of the source the RebalancePolicy names.
func WithSource(s usage.Source) Option { return func(o *options) { o.source = s } }

// WithClock replaces the real clock (readings' freshness, the status's freshness, refresh timers).
func WithClock(c clock.WithTicker) Option { return func(o *options) { o.clock = c } }

// WithRegisterer registers the plugin's metrics into r instead of kube-scheduler's registry
// (component-base's legacyregistry, served on /metrics).
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithDynamicClient reads NodeClasses and RebalancePolicies through d instead of a client built
// from the scheduler's kubeconfig.
func WithDynamicClient(d dynamic.Interface) Option { return func(o *options) { o.dynamic = d } }

// WithSnapshotHook calls f after every snapshot the collector publishes, from the collector's
// goroutine; f must not block.
func WithSnapshotHook(f func(Summary)) Option { return func(o *options) { o.onSnapshot = f } }
