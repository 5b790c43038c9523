package placement

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
)

// NewStatic builds an engine whose plugins read their listers from objects (namespaces,
// Services, ReplicaSets, StatefulSets, ...) held in memory: for what-if runs on a dump and for
// simulations, where there is no API server. The engine is ready when it returns.
func NewStatic(ctx context.Context, configs []*schedconfig.KubeSchedulerConfiguration, objects ...runtime.Object) (*Engine, error) {
	cs := fake.NewClientset(objects...)
	factory := informers.NewSharedInformerFactory(cs, 0)
	e, err := New(ctx, Options{Configs: configs, Informers: factory, Client: cs})
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("the in-memory %v informer did not sync", typ)
		}
	}
	return e, nil
}
