package evictor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// cacheView is what one cycle reads from the caches.
type cacheView struct {
	snap     planner.Snapshot
	policies []v1alpha1.RebalancePolicy
	slos     []*v1alpha1.WorkloadSLO
	byName   map[types.NamespacedName]*planner.Pod
}

// pod finds a pod of the snapshot by name; nil when it is not there.
func (cl *cacheView) pod(ref planner.PodRef) *planner.Pod {
	if cl.byName == nil {
		cl.byName = make(map[types.NamespacedName]*planner.Pod, len(cl.snap.Pods))
		for _, p := range cl.snap.Pods {
			cl.byName[p.Key()] = p
		}
	}
	return cl.byName[types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}]
}

// readCacheView lists everything the planner needs from the informer caches and the pod store.
func readCacheView(ctx context.Context, c client.Reader, podStore PodLister) (*cacheView, error) {
	var (
		nodes    corev1.NodeList
		pdbs     policyv1.PodDisruptionBudgetList
		nss      corev1.NamespaceList
		pcs      schedulingv1.PriorityClassList
		ncs      v1alpha1.NodeClassList
		slos     v1alpha1.WorkloadSLOList
		policies v1alpha1.RebalancePolicyList
	)
	for _, l := range []struct {
		what string
		list client.ObjectList
	}{
		{"nodes", &nodes}, {"PodDisruptionBudgets", &pdbs}, {"namespaces", &nss},
		{"PriorityClasses", &pcs}, {"NodeClasses", &ncs}, {"WorkloadSLOs", &slos}, {"RebalancePolicies", &policies},
	} {
		if err := c.List(ctx, l.list); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	cl := &cacheView{policies: policies.Items, slos: pointers(slos.Items)}
	cl.snap.Nodes, cl.snap.Pods, cl.snap.PDBs = pointers(nodes.Items), podStore.List(), pointers(pdbs.Items)
	cl.snap.Namespaces, cl.snap.PriorityClasses, cl.snap.NodeClasses = pointers(nss.Items), pointers(pcs.Items), pointers(ncs.Items)
	return cl, nil
}

// pointers returns a pointer to each item of a list, without copying the items.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// CacheOptions are the evictor's informer-cache settings: managed fields stripped from every
// object, nodes trimmed to what the planner reads (TrimNode). Pods are not in this cache: the
// PodStore keeps them in the planner's compact form.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}: {Transform: TrimNode},
		},
	}
}

// ClientOptions make the manager's client read pods from the API server: pods are cached only
// in the PodStore, and an informer for corev1.Pod would cache every pod a second time.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Pod{}}}}
}
