package planner

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// selectorIndex finds, among many label selectors of one namespace, those that match a pod's
// labels without trying every one: a selector with an equality requirement (key=value, or key in
// (values)) is filed under those pairs, and only selectors filed under one of the pod's own labels
// are tried. Selectors without such a requirement are always tried. Matching itself is the
// labels package's.
type selectorIndex[T any] struct {
	byNS map[string]*nsIndex[T]
}

type nsIndex[T any] struct {
	// anchors are the label keys selectors are filed under, each with its values' entries;
	// anchorOf finds a key's anchor. A slice, since match walks every key for every shape.
	anchors  []anchor
	anchorOf map[string]int
	always   []int
	entries  []indexed[T]
}

type anchor struct {
	key  string
	vals map[string][]int // value -> entries
}

type indexed[T any] struct {
	sel  labels.Selector
	item T
}

func newSelectorIndex[T any]() *selectorIndex[T] {
	return &selectorIndex[T]{byNS: map[string]*nsIndex[T]{}}
}

func (x *selectorIndex[T]) add(namespace string, sel labels.Selector, item T) {
	ni := x.byNS[namespace]
	if ni == nil {
		ni = &nsIndex[T]{anchorOf: map[string]int{}}
		x.byNS[namespace] = ni
	}
	i := len(ni.entries)
	ni.entries = append(ni.entries, indexed[T]{sel: sel, item: item})
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			a, ok := ni.anchorOf[r.Key()]
			if !ok {
				a = len(ni.anchors)
				ni.anchorOf[r.Key()] = a
				ni.anchors = append(ni.anchors, anchor{key: r.Key(), vals: map[string][]int{}})
			}
			vals := ni.anchors[a].vals
			for v := range r.Values() {
				vals[v] = append(vals[v], i)
			}
			return
		}
	}
	ni.always = append(ni.always, i)
}

// match returns the items whose selectors match the labels, in the order they were added.
func (x *selectorIndex[T]) match(namespace string, lbls labels.Set) []T {
	ni := x.byNS[namespace]
	if ni == nil {
		return nil
	}
	var buf [8]int
	hits := buf[:0]
	// Few keys anchor selectors (app, name...): look each up in the pod's labels.
	for _, a := range ni.anchors {
		if v, ok := lbls[a.key]; ok {
			hits = append(hits, a.vals[v]...)
		}
	}
	hits = append(hits, ni.always...)
	if len(hits) == 0 {
		return nil
	}
	sortInts(hits)
	var out []T
	last := -1
	for _, i := range hits {
		if i == last {
			continue
		}
		last = i
		if e := &ni.entries[i]; e.sel.Matches(lbls) {
			out = append(out, e.item)
		}
	}
	return out
}

func sortInts(a []int) {
	// Small slices: insertion sort, no allocation.
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
