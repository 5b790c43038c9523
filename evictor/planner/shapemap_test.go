package planner

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestShapeMapKeepsShapesApart: a plan's snapshot may hold pods of several Compactors (the
// evictor's fresh check makes one per namespace) and pods made without one, so shapes of
// different Compactors share numbers and some have none. Each keeps its own value.
func TestShapeMapKeepsShapesApart(t *testing.T) {
	a, b := NewCompactor(), NewCompactor()
	var none *Compactor
	var shapes []*Shape
	for i := range 50 {
		for _, c := range []*Compactor{a, b, none} {
			shapes = append(shapes, c.Pod(replica(fmt.Sprintf("w%d", i), 0)).Shape)
		}
	}
	if shapes[0].ix != shapes[1].ix || shapes[0].ix == 0 || shapes[2].ix != 0 {
		t.Fatalf("numbers %d, %d and %d: the test needs two Compactors' first shapes to share one, and none for the third", shapes[0].ix, shapes[1].ix, shapes[2].ix)
	}
	var m shapeMap[int]
	for i, s := range shapes {
		if _, ok := m.get(s); ok {
			t.Fatalf("shape %d has a value before it was given one", i)
		}
		m.set(s, i)
	}
	for i, s := range shapes {
		add(&m, s, 1000)
		if v, ok := m.get(s); !ok || v != i+1000 {
			t.Errorf("shape %d: got %d (%t), want %d", i, v, ok, i+1000)
		}
	}
	seen := map[*Shape]int{}
	for s, v := range m.all {
		seen[s]++
		if want := 1000 + indexOf(shapes, s); v != want {
			t.Errorf("all yields %d for a shape whose value is %d", v, want)
		}
	}
	if len(seen) != len(shapes) {
		t.Errorf("all yields %d shapes, want %d", len(seen), len(shapes))
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("all yields shape %d %d times", indexOf(shapes, s), n)
		}
	}
}

func indexOf(shapes []*Shape, s *Shape) int {
	for i, x := range shapes {
		if x == s {
			return i
		}
	}
	return -1
}

// TestCompactorReusesShapeNumbers: a shape's number is given back when it is collected, so under
// churn (rollouts replace every shape) the numbers, and the plan's slices indexed by them, stay as
// small as the shapes in use.
func TestCompactorReusesShapeNumbers(t *testing.T) {
	c := NewCompactor()
	for round := range 3 {
		func() {
			pods := make([]*Pod, 500)
			for i := range pods {
				pods[i] = c.Pod(replica(fmt.Sprintf("r%d-w%d", round, i), 0))
			}
			seen := map[int32]bool{}
			for _, p := range pods {
				if p.ix <= 0 || seen[p.ix] {
					t.Fatalf("round %d: shape number %d is not positive and unique", round, p.ix)
				}
				seen[p.ix] = true
			}
			runtime.KeepAlive(pods)
		}()
		// Cleanups run after a collection, on their own goroutine: give them a few rounds.
		for i := 0; i < 200 && c.shapes.size() > 0; i++ {
			runtime.GC()
			time.Sleep(5 * time.Millisecond)
		}
	}
	if c.ids.next > 600 {
		t.Errorf("3 rounds of 500 shapes, never more than 500 alive, used numbers up to %d", c.ids.next)
	}
}
