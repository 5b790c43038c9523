package planner

import "testing"

// TestPredicatesFitTheShapeMemo: shapeInfo.known has one bit per predicate.
func TestPredicatesFitTheShapeMemo(t *testing.T) {
	if len(predicates) > 64 {
		t.Fatalf("%d predicates, shapeInfo.known holds 64", len(predicates))
	}
}
