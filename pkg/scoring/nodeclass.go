package scoring

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// NodeClass is a NodeClass resolved for scoring: its parsed selector and the values that matter.
type NodeClass struct {
	Name           string
	Selector       labels.Selector
	Weight         int32
	Created        time.Time
	CapacityFactor float64
	Profiles       ProfileSet
	// Thresholds replace the policy's hot and cold thresholds for the class's nodes when set.
	Thresholds *v1alpha1.Thresholds
}

// ResolveNodeClasses parses the NodeClasses (defaults filled in) and orders them by precedence,
// the one rule both programs use: a node matching several classes belongs to the first, the
// highest weight, then the oldest, then the first by name. Classes without a usable selector
// match nothing.
func ResolveNodeClasses(ncs []*v1alpha1.NodeClass) []*NodeClass {
	out := make([]*NodeClass, 0, len(ncs))
	for _, nc := range ncs {
		if nc.Spec.NodeSelector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(nc.Spec.NodeSelector)
		if err != nil || sel.Empty() {
			continue
		}
		c := &NodeClass{
			Name: nc.Name, Selector: sel, Created: nc.CreationTimestamp.Time, Thresholds: nc.Spec.Thresholds,
			Weight:         ptr.Deref(nc.Spec.Weight, int32(v1alpha1.DefaultNodeClassWeight)),
			CapacityFactor: ptr.Deref(nc.Spec.CapacityFactor, v1alpha1.DefaultNodeClassCapacityFactor),
		}
		if c.CapacityFactor <= 0 {
			c.CapacityFactor = 1
		}
		for _, p := range nc.Spec.PreferredProfiles {
			c.Profiles = c.Profiles.With(ParseProfile(string(p)))
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
	return out
}

// ClassFor returns the class a node with these labels belongs to, or nil for none.
func ClassFor(lbls labels.Labels, classes []*NodeClass) *NodeClass {
	for _, c := range classes {
		if c.Selector.Matches(lbls) {
			return c
		}
	}
	return nil
}
