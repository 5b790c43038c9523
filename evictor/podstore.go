package evictor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/tinorodney/rebalancer/evictor/planner"
)

// PodLister gives the evictor the cluster's pods as the planner sees them.
type PodLister interface {
	// List returns every pod in the cache.
	List() []*planner.Pod
	// OfWorkload returns the cached pods whose controller is wk.
	OfWorkload(wk planner.WorkloadKey) ([]*planner.Pod, error)
	// HasSynced is true once the cache has seen every pod that existed when it started.
	HasSynced() bool
}

// PodStore caches every pod in the cluster in the planner's compact form (planner.Pod), indexed
// by node and by controller. Pods are most of what a cluster holds, so the evictor does not cache them as
// corev1.Pod in the manager's cache: a transform turns each pod the informer decodes into a
// planner.Pod, and pods of one workload share their labels, annotations, owner and scheduling
// constraints (planner.Compactor). The decoded pod is dropped at once.
//
// PodStore is a manager Runnable that runs on every replica, leader or not, so a replica that
// becomes leader plans from a warm cache.
type PodStore struct {
	informer  toolscache.SharedIndexInformer
	compactor *planner.Compactor
}

const (
	// IndexPodNode is the pod store's index of pods by the node they run on.
	IndexPodNode = "spec.nodeName"
	// IndexPodWorkload is the pod store's index of pods by their controller (workloadIndexKey).
	IndexPodWorkload = "workload"
)

// NewPodStore returns a store fed by the list and watch of pods lw.
func NewPodStore(lw toolscache.ListerWatcher) *PodStore {
	s := &PodStore{compactor: planner.NewCompactor()}
	s.informer = toolscache.NewSharedIndexInformerWithOptions(lw, &corev1.Pod{}, toolscache.SharedIndexInformerOptions{
		Indexers:          toolscache.Indexers{IndexPodNode: podNodeIndex, IndexPodWorkload: podWorkloadIndex},
		ObjectDescription: "pods (compact)",
	})
	if err := s.informer.SetTransform(s.transform); err != nil {
		// Only possible once the informer has started; it has not.
		panic(fmt.Sprintf("setting the pod transform: %v", err))
	}
	return s
}

// NewPodStoreForConfig returns a store that lists and watches every pod through cfg, in protobuf
// (pods are decoded faster and with less garbage than from JSON).
func NewPodStoreForConfig(cfg *rest.Config) (*PodStore, error) {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating the pod client: %w", err)
	}
	return NewPodStore(toolscache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "pods", metav1.NamespaceAll, fields.Everything())), nil
}

// transform turns what the informer decodes into planner.Pods. It is idempotent, as informers
// require: a planner.Pod passes through.
func (s *PodStore) transform(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return s.compactor.Pod(o), nil
	case toolscache.DeletedFinalStateUnknown:
		if p, ok := o.Obj.(*corev1.Pod); ok {
			o.Obj = s.compactor.Pod(p)
		}
		return o, nil
	default:
		return obj, nil
	}
}

func podNodeIndex(obj any) ([]string, error) {
	p, ok := obj.(*planner.Pod)
	if !ok || p.NodeName == "" {
		return nil, nil
	}
	return []string{p.NodeName}, nil
}

func podWorkloadIndex(obj any) ([]string, error) {
	p, ok := obj.(*planner.Pod)
	if !ok {
		return nil, nil
	}
	wk := p.Workload()
	if wk.Kind == "" { // no controller
		return nil, nil
	}
	return []string{workloadIndexKey(wk)}, nil
}

// workloadIndexKey names a workload across namespaces.
func workloadIndexKey(wk planner.WorkloadKey) string {
	return wk.Namespace + "/" + wk.Kind + "/" + wk.Name
}

// Start runs the informer until ctx ends (manager.Runnable).
func (s *PodStore) Start(ctx context.Context) error {
	s.informer.RunWithContext(ctx)
	return nil
}

// NeedLeaderElection is false: every replica keeps its cache warm.
func (s *PodStore) NeedLeaderElection() bool { return false }

// HasSynced is true once the initial list is in the cache.
func (s *PodStore) HasSynced() bool { return s.informer.HasSynced() }

// List returns every cached pod, in no particular order.
func (s *PodStore) List() []*planner.Pod {
	return pods(s.informer.GetStore().List())
}

// OnNode returns the cached pods bound to the node.
func (s *PodStore) OnNode(node string) ([]*planner.Pod, error) {
	objs, err := s.informer.GetIndexer().ByIndex(IndexPodNode, node)
	if err != nil {
		return nil, fmt.Errorf("listing pods on node %s: %w", node, err)
	}
	return pods(objs), nil
}

// OfWorkload returns the cached pods whose controller is wk, from the index: the wait for a
// replacement looks at a workload's few pods, not the whole cache, each time it polls.
func (s *PodStore) OfWorkload(wk planner.WorkloadKey) ([]*planner.Pod, error) {
	objs, err := s.informer.GetIndexer().ByIndex(IndexPodWorkload, workloadIndexKey(wk))
	if err != nil {
		return nil, fmt.Errorf("listing pods of %s in %s: %w", wk, wk.Namespace, err)
	}
	return pods(objs), nil
}

func pods(objs []any) []*planner.Pod {
	out := make([]*planner.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*planner.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}
