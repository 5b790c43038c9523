package evictor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
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
	cl := &cluster{policies: policies.Items}
	for i := range nodes.Items {
		cl.snap.Nodes = append(cl.snap.Nodes, &nodes.Items[i])
	}
	for i := range pods.Items {
		cl.snap.Pods = append(cl.snap.Pods, &pods.Items[i])
	}
	for i := range pdbs.Items {
		cl.snap.PDBs = append(cl.snap.PDBs, &pdbs.Items[i])
	}
	for i := range nss.Items {
		cl.snap.Namespaces = append(cl.snap.Namespaces, &nss.Items[i])
	}
	for i := range pcs.Items {
		cl.snap.PriorityClasses = append(cl.snap.PriorityClasses, &pcs.Items[i])
	}
	for i := range ncs.Items {
		cl.snap.NodeClasses = append(cl.snap.NodeClasses, &ncs.Items[i])
	}
	for i := range slos.Items {
		cl.slos = append(cl.slos, &slos.Items[i])
	}
	return cl, nil
}
