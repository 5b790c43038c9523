package planner

import (
	"testing"

	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// TestPredicatesFitTheShapeMemo: shapeInfo.known has one bit per predicate.
func TestPredicatesFitTheShapeMemo(t *testing.T) {
	if len(predicates) > 64 {
		t.Fatalf("%d predicates, shapeInfo.known holds 64", len(predicates))
	}
}

// TestStackedTurnsHot: a node an earlier drawn replacement may also take is acceptable only while
// both together stay below where it would be hot again (hot threshold - margin).
func TestStackedTurnsHot(t *testing.T) {
	cf := &confirmer{cfg: &Config{Weights: scoring.DefaultWeights}}
	capacity := scoring.Resources{CPU: 4000, Memory: 16 << 30}
	for _, tc := range []struct {
		name  string
		extra scoring.Resources
		want  bool
	}{
		{name: "nothing else may land there", want: false},
		{name: "both stay below the margin", extra: scoring.Resources{CPU: 1000}, want: false},
		{name: "both reach the margin", extra: scoring.Resources{CPU: 1800}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &nodeInfo{name: "c1", hot: 0.75, cool: 0.70}
			n.place.Usage, n.place.Capacity = scoring.Resources{CPU: 400, Memory: 1 << 30}, capacity
			c := &proposal{usage: scoring.Resources{CPU: 1000, Memory: 1 << 30}}
			r := cf.stackedTurnsHot(c, n, tc.extra)
			if got := r != nil; got != tc.want {
				t.Fatalf("rejected %v (%v), want %v", got, r, tc.want)
			}
			if r != nil && r.Code != ReasonDestinationTurnsHot {
				t.Errorf("reason %s, want %s", r.Code, ReasonDestinationTurnsHot)
			}
		})
	}
}
