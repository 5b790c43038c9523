package nodeclassfit

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// nodeClass is a NodeClass resolved for scoring.
type nodeClass struct {
	name     string
	selector labels.Selector
	weight   int32
	created  time.Time
	factor   float64
	profiles scoring.ProfileSet
	// thresholds replace the policy's hot and cold thresholds for the class's nodes when set.
	thresholds *v1alpha1.Thresholds
}

// resolveClasses parses the NodeClasses and orders them by precedence. A node that matches
// several classes belongs to the first: the highest weight, then the oldest, then the first by
// name. This is the evictor's rule (planner.ClassOf), which this package may not import;
// TestClassOfFollowsTheEvictorsRule holds the two to the same table. Classes without a usable
// selector match nothing, as in the evictor.
func resolveClasses(ncs []*v1alpha1.NodeClass) []*nodeClass {
	out := make([]*nodeClass, 0, len(ncs))
	for _, nc := range ncs {
		if nc.Spec.NodeSelector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(nc.Spec.NodeSelector)
		if err != nil || sel.Empty() {
			continue
		}
		c := &nodeClass{
			name:       nc.Name,
			selector:   sel,
			weight:     ptr.Deref(nc.Spec.Weight, int32(v1alpha1.DefaultNodeClassWeight)),
			created:    nc.CreationTimestamp.Time,
			factor:     ptr.Deref(nc.Spec.CapacityFactor, v1alpha1.DefaultNodeClassCapacityFactor),
			thresholds: nc.Spec.Thresholds,
		}
		if c.factor <= 0 {
			c.factor = 1
		}
		for _, p := range nc.Spec.PreferredProfiles {
			c.profiles = c.profiles.With(scoring.ParseProfile(string(p)))
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.name < b.name
	})
	return out
}

// classOf returns the class a node with these labels belongs to, or nil for none.
func classOf(lbls labels.Labels, classes []*nodeClass) *nodeClass {
	for _, c := range classes {
		if c.selector.Matches(lbls) {
			return c
		}
	}
	return nil
}
