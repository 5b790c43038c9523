package nodeclassfit

import (
	"time"

	"k8s.io/apimachinery/pkg/labels"

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

// resolveClasses parses the NodeClasses in the order of precedence both programs share
// (scoring.ResolveNodeClasses: highest weight, then oldest, then name).
func resolveClasses(ncs []*v1alpha1.NodeClass) []*nodeClass {
	shared := scoring.ResolveNodeClasses(ncs)
	out := make([]*nodeClass, len(shared))
	for i, c := range shared {
		out[i] = &nodeClass{name: c.Name, selector: c.Selector, weight: c.Weight, created: c.Created,
			factor: c.CapacityFactor, profiles: c.Profiles, thresholds: c.Thresholds}
	}
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
