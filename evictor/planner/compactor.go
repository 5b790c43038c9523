package planner

import (
	"hash/maphash"
	"maps"
	"runtime"
	"slices"
	"sync"
	"weak"

	corev1 "k8s.io/api/core/v1"
)

// Compactor makes Pods that share what they have in common: pods with the same labels,
// annotations, controller, volumes and scheduling constraints share one Shape; shapes with the
// same labels share one label map, and shapes with the same scheduling constraints share one
// Scheduling (parsed once). A shared value lives only while some Pod uses it: the tables hold
// values weakly and look them up by a hash, checking equality, so a workload that is gone leaves
// nothing behind and no two different values are ever confused. Namespaces and node names are
// kept once in a bounded table. A Compactor is safe for concurrent use; its methods accept a nil
// Compactor, which shares nothing.
type Compactor struct {
	seed        maphash.Seed
	shapes      internTable[Shape]
	labels      internTable[stringMap]
	schedulings internTable[Scheduling]

	mu      sync.Mutex
	strings map[string]string

	// ids numbers the live shapes densely (Shape.ix), so a plan can keep what it works out per
	// shape in a slice rather than a map (shapeMap).
	ids idAllocator
}

// idAllocator hands out small positive numbers, reusing those given back.
type idAllocator struct {
	mu   sync.Mutex
	next int32
	free []int32
}

func (a *idAllocator) get() int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.free); n > 0 {
		id := a.free[n-1]
		a.free = a.free[:n-1]
		return id
	}
	a.next++
	return a.next
}

func (a *idAllocator) put(id int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.free = append(a.free, id)
}

// stringMap is a map shared through an internTable (which needs a pointer to hold weakly).
type stringMap struct{ m map[string]string }

// maxStrings bounds the table of namespaces and node names: when it is full it starts again
// (strings handed out stay valid), so churn cannot grow it without bound.
const maxStrings = 1 << 16

// NewCompactor returns an empty Compactor.
func NewCompactor() *Compactor {
	return &Compactor{
		seed:        maphash.MakeSeed(),
		shapes:      newInternTable(shapeEqual),
		labels:      newInternTable(func(a, b *stringMap) bool { return maps.Equal(a.m, b.m) }),
		schedulings: newInternTable(func(a, b *Scheduling) bool { return a.key == b.key }),
		strings:     map[string]string{},
	}
}

// str returns s, or an equal string handed out before.
func (c *Compactor) str(s string) string {
	if c == nil || s == "" {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.strings[s]; ok {
		return v
	}
	if len(c.strings) >= maxStrings {
		clear(c.strings)
	}
	c.strings[s] = s
	return s
}

// internTable finds, for a value, an equal one that is still in use.
type internTable[T any] struct {
	mu    sync.Mutex
	equal func(a, b *T) bool
	m     map[uint64][]weak.Pointer[T]
}

func newInternTable[T any](equal func(a, b *T) bool) internTable[T] {
	return internTable[T]{equal: equal, m: map[uint64][]weak.Pointer[T]{}}
}

// get returns a live value equal to v (whose hash is h), or else v itself, remembered from now
// on once complete (if not nil) has finished it: no other caller sees v before.
func (t *internTable[T]) get(h uint64, v *T, complete func(*T)) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, wp := range t.m[h] {
		if x := wp.Value(); x != nil && t.equal(x, v) {
			return x
		}
	}
	if complete != nil {
		complete(v)
	}
	t.m[h] = append(t.m[h], weak.Make(v))
	runtime.AddCleanup(v, t.forget, h)
	return v
}

// forget drops the collected values of bucket h.
func (t *internTable[T]) forget(h uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := slices.DeleteFunc(t.m[h], func(wp weak.Pointer[T]) bool { return wp.Value() == nil })
	if len(live) == 0 {
		delete(t.m, h)
		return
	}
	t.m[h] = live
}

// size is how many values the table holds, collected ones included until their cleanup runs.
func (t *internTable[T]) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, b := range t.m {
		n += len(b)
	}
	return n
}

// hashMap hashes a map independently of its iteration order: the sum of its entries' hashes.
func (c *Compactor) hashMap(m map[string]string) uint64 {
	var sum uint64
	var h maphash.Hash
	h.SetSeed(c.seed)
	for k, v := range m {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum + uint64(len(m))
}

// hashShape hashes what shapeEqual compares; labelHash is hashMap(s.Labels).
func (c *Compactor) hashShape(s *Shape, labelHash uint64) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	maphash.WriteComparable(&h, labelHash)
	maphash.WriteComparable(&h, c.hashMap(s.Annotations))
	if o := s.Owner; o != nil {
		h.WriteString(string(o.UID))
	}
	maphash.WriteComparable(&h, s.LocalStorage)
	maphash.WriteComparable(&h, s.Claims)
	maphash.WriteComparable(&h, s.Scheduling)
	return h.Sum64()
}

func shapeEqual(a, b *Shape) bool {
	if a.LocalStorage != b.LocalStorage || a.Claims != b.Claims || a.Scheduling != b.Scheduling || (a.Owner == nil) != (b.Owner == nil) {
		return false
	}
	if a.Owner != nil {
		x, y := a.Owner, b.Owner
		if x.UID != y.UID || x.Kind != y.Kind || x.Name != y.Name || x.APIVersion != y.APIVersion {
			return false
		}
	}
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations)
}

// schedulingSpec is the part of a pod's spec the scheduler reads to place it: what its Filter and
// Score plugins look at (constraints, affinity, spreading, requests, host ports, images). The
// placement engine places a pod from it; volumes are left out (pods with claims are not moved).
func schedulingSpec(spec *corev1.PodSpec) *corev1.PodSpec {
	sub := &corev1.PodSpec{NodeSelector: spec.NodeSelector, Affinity: spec.Affinity, Tolerations: spec.Tolerations,
		SchedulerName: spec.SchedulerName, PriorityClassName: spec.PriorityClassName, Priority: spec.Priority,
		PreemptionPolicy: spec.PreemptionPolicy, TopologySpreadConstraints: spec.TopologySpreadConstraints,
		Overhead: spec.Overhead, Resources: spec.Resources, HostNetwork: spec.HostNetwork, SchedulingGates: spec.SchedulingGates,
		ResourceClaims: spec.ResourceClaims}
	trim := func(cs []corev1.Container) []corev1.Container {
		if len(cs) == 0 {
			return nil
		}
		out := make([]corev1.Container, len(cs))
		for i := range cs {
			c := &cs[i]
			out[i] = corev1.Container{Name: c.Name, Image: c.Image, RestartPolicy: c.RestartPolicy,
				Resources: corev1.ResourceRequirements{Requests: c.Resources.Requests, Limits: c.Resources.Limits}}
			for _, port := range c.Ports {
				if port.HostPort != 0 {
					out[i].Ports = append(out[i].Ports, port)
				}
			}
		}
		return out
	}
	sub.Containers, sub.InitContainers = trim(spec.Containers), trim(spec.InitContainers)
	return sub
}

// schedulingKey is the protobuf encoding (map keys sorted) of the pod's scheduling spec: pods
// with equal keys share one Scheduling. ok is false when the spec cannot be encoded; the pod then
// gets a Scheduling of its own.
func schedulingKey(sub *corev1.PodSpec) (key string, ok bool) {
	data, err := sub.Marshal()
	if err != nil {
		return "", false
	}
	return string(data), true
}
