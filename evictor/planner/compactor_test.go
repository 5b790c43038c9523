package planner

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tinorodney/rebalancer/pkg/testutil"
)

func replica(workload string, i int) *corev1.Pod {
	return testutil.Pod(fmt.Sprintf("%s-%d", workload, i)).Namespace("prod").Node(fmt.Sprintf("n%d", i%3)).OptIn().
		Label("app", workload).OwnedBy("ReplicaSet", workload).CPU("100m").Memory("64Mi").Obj()
}

func TestCompactorSharesWhatReplicasHaveInCommon(t *testing.T) {
	c := NewCompactor()
	a, b := c.Pod(replica("web", 0)), c.Pod(replica("web", 1))
	if a.Shape != b.Shape {
		t.Error("replicas of one workload do not share a shape")
	}
	if a.Name == b.Name || a.NodeName == b.NodeName {
		t.Error("per-pod fields were shared")
	}
	other := c.Pod(replica("api", 0))
	if other.Shape == a.Shape || other.Labels["app"] != "api" {
		t.Error("pods of another workload got the web shape")
	}
	if other.Scheduling != a.Scheduling {
		t.Error("pods with the same scheduling constraints do not share them")
	}
	tolerating := replica("web", 2)
	tolerating.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	if c.Pod(tolerating).Scheduling == a.Scheduling {
		t.Error("a pod with a toleration shares the constraints of pods without")
	}
	annotated := replica("web", 3)
	annotated.Annotations = map[string]string{"cni.projectcalico.org/podIP": "10.0.0.3/32"}
	ap := c.Pod(annotated)
	if ap.Shape == a.Shape || ap.Annotations["cni.projectcalico.org/podIP"] != "10.0.0.3/32" {
		t.Error("a pod with an annotation of its own shares the shape of pods without")
	}
	if fmt.Sprintf("%p", ap.Labels) != fmt.Sprintf("%p", a.Labels) {
		t.Error("a pod that differs only in an annotation does not share its labels")
	}
	var none *Compactor
	if none.Pod(replica("web", 0)).Shape == none.Pod(replica("web", 1)).Shape {
		t.Error("a nil Compactor shared a shape")
	}
}

// TestCompactorForgetsShapesNoPodUses: the tables hold shapes weakly; once no pod uses them, the
// garbage collector takes them and the table entries go.
func TestCompactorForgetsShapesNoPodUses(t *testing.T) {
	c := NewCompactor()
	keep := c.Pod(replica("kept", 0))
	func() {
		gone := make([]*Pod, 1000)
		for i := range gone {
			gone[i] = c.Pod(replica(fmt.Sprintf("gone-%d", i), 0))
		}
		if n := c.shapes.size(); n != 1001 {
			t.Fatalf("%d shapes in the table while 1,001 are in use", n)
		}
		runtime.KeepAlive(gone)
	}()
	// Cleanups run after a collection, on their own goroutine: give them a few rounds.
	for i := 0; i < 200 && c.shapes.size() > 1; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.shapes.size(); n != 1 {
		t.Errorf("%d shapes left in the table, want only the one still in use", n)
	}
	if again := c.Pod(replica("kept", 1)); again.Shape != keep.Shape {
		t.Error("the shape still in use was forgotten")
	}
}

// TestInternTableChecksEquality: values whose hashes collide stay distinct.
func TestInternTableChecksEquality(t *testing.T) {
	tab := newInternTable(func(a, b *stringMap) bool { return a.m["k"] == b.m["k"] })
	x := tab.get(42, &stringMap{map[string]string{"k": "x"}}, nil)
	y := tab.get(42, &stringMap{map[string]string{"k": "y"}}, nil)
	if x == y || y.m["k"] != "y" {
		t.Error("two different values with one hash were confused")
	}
	if got := tab.get(42, &stringMap{map[string]string{"k": "x"}}, nil); got != x {
		t.Error("an equal value was not shared")
	}
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}

// TestCompactorConcurrent: pods made concurrently still share one shape per workload (run with -race).
func TestCompactorConcurrent(t *testing.T) {
	c := NewCompactor()
	const workers, perWorker = 4, 200
	shapes := make([][]*Shape, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				shapes[w] = append(shapes[w], c.Pod(replica(fmt.Sprintf("wl-%d", i%10), w*perWorker+i)).Shape)
			}
		}()
	}
	wg.Wait()
	first := map[string]*Shape{}
	for _, ss := range shapes {
		for _, s := range ss {
			app := s.Labels["app"]
			if f, ok := first[app]; ok && f != s {
				t.Fatalf("workload %s has two shapes", app)
			}
			first[app] = s
		}
	}
	if len(first) != 10 {
		t.Errorf("%d shapes, want 10", len(first))
	}
}
