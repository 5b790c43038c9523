package evictor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// IndexPodNode is the cache index of pods by the node they run on.
const IndexPodNode = "spec.nodeName"

// cluster is what one cycle reads from the caches.
type cluster struct {
	snap     planner.Snapshot
	policies []v1alpha1.RebalancePolicy
	slos     []*v1alpha1.WorkloadSLO
}

// readCluster lists everything the planner needs from the informer caches.
func readCluster(ctx context.Context, c client.Reader) (*cluster, error) {
	var (
		nodes    corev1.NodeList
		pods     corev1.PodList
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
		{"nodes", &nodes}, {"pods", &pods}, {"PodDisruptionBudgets", &pdbs}, {"namespaces", &nss},
		{"PriorityClasses", &pcs}, {"NodeClasses", &ncs}, {"WorkloadSLOs", &slos}, {"RebalancePolicies", &policies},
	} {
		if err := c.List(ctx, l.list); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	cl := &cluster{policies: policies.Items, slos: pointers(slos.Items)}
	cl.snap.Nodes, cl.snap.Pods, cl.snap.PDBs = pointers(nodes.Items), pointers(pods.Items), pointers(pdbs.Items)
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
// object, pods and nodes trimmed to what the planner reads (TrimPod, TrimNode).
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:  {Transform: TrimPod},
			&corev1.Node{}: {Transform: TrimNode},
		},
	}
}
