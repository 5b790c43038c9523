package evictor

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

// +kubebuilder:rbac:groups="",resources=services;replicationcontrollers;persistentvolumeclaims;persistentvolumes,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets;statefulsets,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses;csinodes;csidrivers;csistoragecapacities;volumeattachments,verbs=get;list;watch

// PlacementEngine is the placement engine the planner confirms moves with, and the informers
// that serve its plugins' listers. Added to the manager, it runs the informers on every replica
// (a standby plans in dry-run too).
type PlacementEngine struct {
	*placement.Engine
	factory informers.SharedInformerFactory
	synced  atomic.Bool
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

// informers are the listers the in-tree plugins read when they filter and score a pod: Services
// and controllers (default topology spreading), namespaces (inter-pod affinity), volumes and
// storage (volume plugins, for pods with claims), PodDisruptionBudgets. Pods and nodes are not
// among them: VolumeBinding and DefaultPreemption ask the factory for a pod informer, which
// would cache every pod in full a second time (the evictor keeps its compact PodStore and
// gives the engine the pods in each session), so those informers are never started; nothing
// the engine runs reads them.
func (p *PlacementEngine) informers() []cache.SharedIndexInformer {
	f := p.factory
	return []cache.SharedIndexInformer{
		f.Core().V1().Services().Informer(), f.Core().V1().ReplicationControllers().Informer(),
		f.Apps().V1().ReplicaSets().Informer(), f.Apps().V1().StatefulSets().Informer(),
		f.Core().V1().Namespaces().Informer(), f.Policy().V1().PodDisruptionBudgets().Informer(),
		f.Core().V1().PersistentVolumeClaims().Informer(), f.Core().V1().PersistentVolumes().Informer(),
		f.Storage().V1().StorageClasses().Informer(), f.Storage().V1().CSINodes().Informer(),
		f.Storage().V1().CSIDrivers().Informer(), f.Storage().V1().CSIStorageCapacities().Informer(),
		f.Storage().V1().VolumeAttachments().Informer(),
	}
}

// Start runs the informers until ctx ends; the engine is Synced once they have listed.
func (p *PlacementEngine) Start(ctx context.Context) error {
	infs := p.informers()
	synced := make([]cache.InformerSynced, len(infs))
	for i, inf := range infs {
		go inf.RunWithContext(ctx)
		synced[i] = inf.HasSynced
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("the placement engine's informers did not sync")
	}
	p.synced.Store(true)
	log.FromContext(ctx).Info("Placement engine ready", "schedulers", p.Schedulers())
	<-ctx.Done()
	return p.Close()
}

// Synced reports whether the engine's listers have listed once: before that, default topology
// spreading and volume plugins would see an empty cluster.
func (p *PlacementEngine) Synced() bool { return p.synced.Load() }

// NeedLeaderElection is false: every replica plans.
func (p *PlacementEngine) NeedLeaderElection() bool { return false }
