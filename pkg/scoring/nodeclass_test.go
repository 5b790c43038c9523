package scoring

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

func TestNodeClassPrecedence(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	class := func(name string, weight int32, created time.Time, sel map[string]string) *v1alpha1.NodeClass {
		nc := &v1alpha1.NodeClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
			Spec: v1alpha1.NodeClassSpec{Weight: ptr.To(weight)}}
		if sel != nil {
			nc.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: sel}
		}
		return nc
	}
	arm := map[string]string{"kubernetes.io/arch": "arm64"}
	cases := []struct {
		name    string
		classes []*v1alpha1.NodeClass
		want    string
	}{
		{"heavier wins", []*v1alpha1.NodeClass{class("light", 10, t0, arm), class("heavy", 90, t0.Add(time.Hour), arm)}, "heavy"},
		{"then older", []*v1alpha1.NodeClass{class("young", 50, t0.Add(time.Hour), arm), class("old", 50, t0, arm)}, "old"},
		{"then by name", []*v1alpha1.NodeClass{class("b", 50, t0, arm), class("a", 50, t0, arm)}, "a"},
		{"no selector matches nothing", []*v1alpha1.NodeClass{class("none", 100, t0, nil)}, ""},
		{"empty selector matches nothing", []*v1alpha1.NodeClass{class("empty", 100, t0, map[string]string{})}, ""},
		{"other labels", []*v1alpha1.NodeClass{class("x86", 50, t0, map[string]string{"kubernetes.io/arch": "amd64"})}, ""},
		{"unset weight is 50", []*v1alpha1.NodeClass{
			func() *v1alpha1.NodeClass { c := class("unset", 0, t0, arm); c.Spec.Weight = nil; return c }(),
			class("fifty-one", 51, t0.Add(time.Hour), arm),
		}, "fifty-one"},
		{"heavier wins whatever the order", []*v1alpha1.NodeClass{class("heavy", 90, t0.Add(time.Hour), arm), class("light", 10, t0, arm)}, "heavy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := ClassFor(labels.Set(arm), ResolveNodeClasses(tc.classes)); c != nil {
				got = c.Name
			}
			if got != tc.want {
				t.Errorf("class %q, want %q", got, tc.want)
			}
		})
	}
	if c := ResolveNodeClasses([]*v1alpha1.NodeClass{class("d", 50, t0, arm)})[0]; c.CapacityFactor != 1 || c.Weight != 50 {
		t.Errorf("defaults: %+v", c)
	}
}
