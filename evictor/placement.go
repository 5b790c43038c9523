package evictor

import (
	"context"
	"fmt"
	"os"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

// PlacementEngine is the placement engine the planner confirms moves with, and the informers
// that serve its plugins' listers. Added to the manager, it runs the informers on every replica
// (a standby plans in dry-run too).
type PlacementEngine struct {
	*placement.Engine
	factory informers.SharedInformerFactory
}

// NewPlacementEngine builds the engine from the two schedulers' configurations: the Rebalancer
// scheduler's file (schedulerConfig; its built-in profile when empty) and the cluster's default
// scheduler's (defaultSchedulerConfig; kube-scheduler's defaults when empty).
func NewPlacementEngine(ctx context.Context, cfg *rest.Config, schedulerConfig, defaultSchedulerConfig string) (*PlacementEngine, error) {
	def, err := loadSchedulerConfig(defaultSchedulerConfig, placement.DefaultConfig)
	if err != nil {
		return nil, err
	}
	ours, err := loadSchedulerConfig(schedulerConfig, func() (*schedconfig.KubeSchedulerConfiguration, error) {
		return placement.RebalancerConfig(v1alpha1.SchedulerName, nil)
	})
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a client for the placement engine: %w", err)
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	e, err := placement.New(ctx, placement.Options{Configs: []*schedconfig.KubeSchedulerConfiguration{def, ours}, Informers: factory, Client: cs})
	if err != nil {
		return nil, fmt.Errorf("building the placement engine: %w", err)
	}
	return &PlacementEngine{Engine: e, factory: factory}, nil
}

func loadSchedulerConfig(path string, fallback func() (*schedconfig.KubeSchedulerConfiguration, error)) (*schedconfig.KubeSchedulerConfiguration, error) {
	if path == "" {
		return fallback()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the scheduler configuration: %w", err)
	}
	c, err := placement.LoadConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Start runs the informers until ctx ends.
func (p *PlacementEngine) Start(ctx context.Context) error {
	p.factory.Start(ctx.Done())
	for typ, ok := range p.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("the placement engine's %v informer did not sync", typ)
		}
	}
	log.FromContext(ctx).Info("Placement engine ready", "schedulers", p.Schedulers())
	<-ctx.Done()
	p.factory.Shutdown()
	return p.Close()
}

// NeedLeaderElection is false: every replica plans.
func (p *PlacementEngine) NeedLeaderElection() bool { return false }
