package planner

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
	"weak"

	corev1 "k8s.io/api/core/v1"
)

// Compactor makes Pods that share what they have in common: pods with the same labels,
// annotations, controller, volumes and scheduling constraints share one Shape, and shapes with
// the same scheduling constraints share one Scheduling (parsed once). A shape is shared only while
// some Pod uses it: the tables hold them weakly, so a workload that is gone leaves nothing behind.
// Namespaces and node names are kept once in a bounded table. A Compactor is safe for concurrent
// use; its methods accept a nil Compactor, which shares nothing.
type Compactor struct {
	shapes      internTable[Shape]
	schedulings internTable[Scheduling]

	mu      sync.Mutex
	strings map[string]string
}

// maxStrings bounds the table of namespaces and node names: when it is full it starts again
// (strings handed out stay valid), so churn cannot grow it without bound.
const maxStrings = 1 << 16

// NewCompactor returns an empty Compactor.
func NewCompactor() *Compactor {
	return &Compactor{
		shapes:      internTable[Shape]{m: map[string]weak.Pointer[Shape]{}},
		schedulings: internTable[Scheduling]{m: map[string]weak.Pointer[Scheduling]{}},
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

// internTable maps a key to the value made for it, as long as that value is in use.
type internTable[T any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[T]
}

// get returns the live value for key, or the one mk makes (and remembers).
func (t *internTable[T]) get(key string, mk func() *T) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wp, ok := t.m[key]; ok {
		if v := wp.Value(); v != nil {
			return v
		}
	}
	v := mk()
	t.m[key] = weak.Make(v)
	runtime.AddCleanup(v, t.forget, key)
	return v
}

// forget drops key once its value has been collected (and not replaced since).
func (t *internTable[T]) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wp, ok := t.m[key]; ok && wp.Value() == nil {
		delete(t.m, key)
	}
}

// size is how many keys the table holds.
func (t *internTable[T]) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// keyBuilder writes length-prefixed fields, so no two different field lists give one key.
type keyBuilder struct{ strings.Builder }

func (b *keyBuilder) field(s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

func (b *keyBuilder) sortedMap(m map[string]string) {
	b.field(strconv.Itoa(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.field(k)
		b.field(m[k])
	}
}

// shapeKey identifies a shape: its labels, annotations, owner, volumes and the identity of its
// (already shared) Scheduling.
func shapeKey(s *Shape) string {
	var b keyBuilder
	b.sortedMap(s.Labels)
	b.sortedMap(s.Annotations)
	if o := s.Owner; o != nil {
		b.field(o.APIVersion)
		b.field(o.Kind)
		b.field(o.Name)
		b.field(string(o.UID))
	} else {
		b.field("")
	}
	b.field(strconv.FormatInt(s.LocalStorage, 10))
	b.field(strconv.FormatBool(s.Claims))
	b.field(strconv.FormatUint(uint64(uintptr(unsafe.Pointer(s.Scheduling))), 16))
	return b.String()
}

// schedulingKey identifies a Scheduling: the protobuf encoding (map keys sorted) of the pod-spec
// fields it is made from. ok is false when they cannot be encoded (never for a valid pod): such a
// pod gets a Scheduling of its own.
func schedulingKey(spec corev1.PodSpec) (key string, ok bool) {
	sub := corev1.PodSpec{NodeSelector: spec.NodeSelector, Tolerations: spec.Tolerations, SchedulerName: spec.SchedulerName,
		PriorityClassName: spec.PriorityClassName, Priority: spec.Priority}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		sub.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution}}
	}
	data, err := sub.Marshal()
	if err != nil {
		return "", false
	}
	return string(data), true
}
