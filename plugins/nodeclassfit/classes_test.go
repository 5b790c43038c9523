package nodeclassfit

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// TestClassOfFollowsTheEvictorsRule holds the plugin to the rule the evictor's planner.ClassOf
// applies (this package may not import the evictor): of the classes whose selector matches a
// node, the highest weight, then the oldest, then the first by name; a class without a selector,
// or with an empty one, matches nothing; an unset weight is 50. Keep this table in step with
// evictor/planner's.
func TestClassOfFollowsTheEvictorsRule(t *testing.T) {
	t0 := now.Add(-24 * time.Hour)
	arm := map[string]string{"kubernetes.io/arch": "arm64"}
	pi := map[string]string{"kubernetes.io/arch": "arm64", "model": "rpi4"}
	class := func(name string, weight int32, created time.Time, sel map[string]string) *v1alpha1.NodeClass {
		return newNodeClass(name, weight, 1, created, sel)
	}
	tests := []struct {
		name    string
		classes []*v1alpha1.NodeClass
		node    map[string]string
		want    string
	}{
		{name: "no class matches", classes: []*v1alpha1.NodeClass{class("arm", 50, t0, arm)}, node: map[string]string{"kubernetes.io/arch": "amd64"}, want: ""},
		{name: "one class matches", classes: []*v1alpha1.NodeClass{class("arm", 50, t0, arm)}, node: pi, want: "arm"},
		{name: "highest weight wins", classes: []*v1alpha1.NodeClass{class("arm", 50, t0, arm), class("rpi4", 70, t0.Add(time.Hour), pi)}, node: pi, want: "rpi4"},
		{name: "highest weight wins whatever the order", classes: []*v1alpha1.NodeClass{class("rpi4", 70, t0.Add(time.Hour), pi), class("arm", 50, t0, arm)}, node: pi, want: "rpi4"},
		{name: "equal weight: the oldest wins", classes: []*v1alpha1.NodeClass{class("rpi4", 50, t0.Add(time.Hour), pi), class("arm", 50, t0, arm)}, node: pi, want: "arm"},
		{name: "equal weight and age: first by name", classes: []*v1alpha1.NodeClass{class("b", 50, t0, pi), class("a", 50, t0, arm)}, node: pi, want: "a"},
		{name: "unset weight is 50", classes: []*v1alpha1.NodeClass{
			func() *v1alpha1.NodeClass { c := class("unset", 0, t0, pi); c.Spec.Weight = nil; return c }(),
			class("fifty-one", 51, t0.Add(time.Hour), arm),
		}, node: pi, want: "fifty-one"},
		{name: "a class without a selector matches nothing", classes: []*v1alpha1.NodeClass{
			func() *v1alpha1.NodeClass { c := class("nil", 90, t0, nil); c.Spec.NodeSelector = nil; return c }(),
			class("arm", 10, t0, arm),
		}, node: pi, want: "arm"},
		{name: "an empty selector matches nothing", classes: []*v1alpha1.NodeClass{
			func() *v1alpha1.NodeClass {
				c := class("empty", 90, t0, nil)
				c.Spec.NodeSelector = &metav1.LabelSelector{}
				return c
			}(),
			class("arm", 10, t0, arm),
		}, node: pi, want: "arm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := classOf(labels.Set(tc.node), resolveClasses(tc.classes)); c != nil {
				got = c.name
			}
			if got != tc.want {
				t.Errorf("class = %q, want %q", got, tc.want)
			}
		})
	}
}
