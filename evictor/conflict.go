package evictor

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// validPolicies are the policies that resolve (planner.Resolve): only they take part in deciding
// which policy owns a node. A policy that cannot work evicts nothing and must not keep a valid
// one from its nodes.
func validPolicies(all []v1alpha1.RebalancePolicy, pcs []*schedulingv1.PriorityClass) []v1alpha1.RebalancePolicy {
	out := make([]v1alpha1.RebalancePolicy, 0, len(all))
	for i := range all {
		if _, err := planner.Resolve(&all[i], pcs); err == nil {
			out = append(out, all[i])
		}
	}
	return out
}

// ownedElsewhere finds the nodes that both this policy and an older one select: the older policy
// (by creation time, then name) keeps them. It returns node name -> reason.
func ownedElsewhere(p *v1alpha1.RebalancePolicy, all []v1alpha1.RebalancePolicy, nodes []*corev1.Node) map[string]string {
	var older []*v1alpha1.RebalancePolicy
	for i := range all {
		q := &all[i]
		if q.Name == p.Name || q.DeletionTimestamp != nil {
			continue
		}
		if q.CreationTimestamp.Before(&p.CreationTimestamp) || (q.CreationTimestamp.Equal(&p.CreationTimestamp) && q.Name < p.Name) {
			older = append(older, q)
		}
	}
	if len(older) == 0 {
		return nil
	}
	sort.Slice(older, func(i, j int) bool { return older[i].Name < older[j].Name })
	mine := nodeSelector(p)
	out := map[string]string{}
	for _, n := range nodes {
		set := labels.Set(n.Labels)
		if mine == nil || !mine.Matches(set) {
			continue
		}
		for _, q := range older {
			if sel := nodeSelector(q); sel != nil && sel.Matches(set) {
				out[n.Name] = fmt.Sprintf("owned by the older RebalancePolicy %s", q.Name)
				break
			}
		}
	}
	return out
}

func nodeSelector(p *v1alpha1.RebalancePolicy) labels.Selector {
	if p.Spec.NodeSelector == nil {
		return labels.Everything()
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.NodeSelector)
	if err != nil {
		return nil
	}
	return sel
}
