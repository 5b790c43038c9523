package planner

import (
	"hash/maphash"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// Pod is the planner's view of a pod: what its rules and predictions read, and nothing else.
// The evictor keeps one for every pod in the cluster in its cache, so it is small. What the pods
// of one workload revision have in common (labels, annotations, controller, scheduling
// constraints, volumes) is a Shape that such pods share when one Compactor made them.
// A Pod and its Shape are never modified once made; NewPod and Compactor.Pod make them.
type Pod struct {
	// Fields are ordered by use: the first cache line holds what every plan reads for every pod,
	// the second what it reads for pods on hot nodes. Times are kept as Unix nanoseconds (0 for
	// none) to fit; the methods of the same names return them as time.Time.

	*Shape
	NodeName string
	Phase    corev1.PodPhase
	// Requests are the pod's effective requests as the scheduler counts them (scoring.PodRequests).
	Requests scoring.Requests
	started  int64

	Namespace, Name string
	UID             types.UID
	created         int64
	// Deleting is true once the pod has a deletionTimestamp.
	Deleting bool
	// Ready is the pod's Ready condition.
	Ready bool

	readySince int64
	// ResourceVersion is kept for the informer that caches Pods (it tells updates from resyncs).
	ResourceVersion string
}

// Started is when the kubelet started the pod; zero before.
func (p *Pod) Started() time.Time { return fromNanos(p.started) }

// Created is the pod's creation time.
func (p *Pod) Created() time.Time { return fromNanos(p.created) }

// ReadySince is when the pod's Ready condition last changed; zero without one.
func (p *Pod) ReadySince() time.Time { return fromNanos(p.readySince) }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Shape is what the pods of one workload revision have in common.
type Shape struct {
	Labels map[string]string
	// Annotations are the pod's annotations but kubectl's last-applied copy.
	Annotations map[string]string
	// Owner is the controller owner; nil for a bare pod.
	Owner *metav1.OwnerReference
	*Scheduling
	// LocalStorage is the most bytes the pod's disk-backed emptyDir volumes can hold: each at
	// its sizeLimit; when one has none, the sum of the containers' ephemeral-storage limits caps
	// them all; without either it is unbounded, -1.
	LocalStorage int64
	// Claims is true when a volume is a PersistentVolumeClaim or a generic ephemeral volume.
	Claims bool

	// profile is the workload profile the labels or annotations state (Pod.Profile), parsed once
	// when the shape is made rather than in every plan.
	profile scoring.Profile

	// labels holds Labels in the Compactor's table of label maps while this shape is in use.
	labels *stringMap
	// ix numbers the shape among the live shapes of its Compactor, from 1 (0: none, made without
	// a Compactor). It is given back when the shape is collected, so it stays small.
	ix int32
}

// Scheduling is what decides where a pod may run and which scheduler places it.
type Scheduling struct {
	SchedulerName     string
	PriorityClassName string
	// Priority is spec.priority, nil when the pod has none.
	Priority *int32
	// Constraints are the node selector, required node affinity and tolerations, parsed.
	Constraints *scoring.Constraints
	// Spec is the part of the pod's spec the scheduler reads (no node name, no volumes); the
	// placement engine places the pod from it (Pod.SchedulingPod). Never modified.
	Spec *corev1.PodSpec

	// key identifies the Scheduling in the Compactor's table.
	key string
}

// UnboundedStorage is Shape.LocalStorage for a pod whose local storage has no bound.
const UnboundedStorage = -1

// NewPod makes the planner's view of a pod, sharing nothing with other pods.
func NewPod(p *corev1.Pod) *Pod {
	var c *Compactor
	return c.Pod(p)
}

// NewPods makes the planner's view of each pod, through one Compactor.
func NewPods(pods []*corev1.Pod) []*Pod {
	c := NewCompactor()
	out := make([]*Pod, len(pods))
	for i, p := range pods {
		out[i] = c.Pod(p)
	}
	return out
}

// GetObjectMeta makes a Pod a metav1.ObjectMetaAccessor, so informers can key and version the
// Pods they cache. It returns a new ObjectMeta with the pod's identity.
func (p *Pod) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion}
}

// Object is a corev1.Pod with the pod's identity, for event recorders and clients that need one.
func (p *Pod) Object() *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion}}
}

// SchedulingPod is the pod as the scheduler sees it, for the placement engine: identity, labels,
// controller, the scheduling spec bound to its node, its phase. Its labels and spec are shared
// with the Pod and must not be modified.
func (p *Pod) SchedulingPod() *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Labels: p.Labels},
		Status:     corev1.PodStatus{Phase: p.Phase},
	}
	if p.Spec != nil {
		out.Spec = *p.Spec
	}
	out.Spec.NodeName = p.NodeName
	if p.Owner != nil {
		out.OwnerReferences = []metav1.OwnerReference{*p.Owner}
	}
	return out
}

// PlacementKey identifies this version of the pod for the placement engine, which keeps the
// scheduler's view of each pod between plans.
func (p *Pod) PlacementKey() placement.PodKey {
	return placement.PodKey{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Version: p.ResourceVersion, Node: p.NodeName}
}

// Replacement is the pod its controller creates after an eviction, as the scheduler sees it:
// the same scheduling spec and labels, not yet bound, under a new name and UID.
func (p *Pod) Replacement() *corev1.Pod {
	r := p.SchedulingPod()
	r.Name, r.UID = p.Name+"-replacement", p.UID+"-replacement"
	r.Spec.NodeName = ""
	r.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return r
}

// Stateful is true for a pod whose eviction a WorkloadSLO counts as stateful: it belongs to a
// StatefulSet or mounts a PersistentVolumeClaim.
func (p *Pod) Stateful() bool { return p.Claims || (p.Owner != nil && p.Owner.Kind == "StatefulSet") }

// Workload is the pod's controller; zero for a pod without one.
func (p *Pod) Workload() WorkloadKey {
	if p.Owner == nil {
		return WorkloadKey{}
	}
	return WorkloadKey{Namespace: p.Namespace, Kind: p.Owner.Kind, Name: p.Owner.Name}
}

// Profile is the workload profile the pod states with the label, or else the annotation,
// rebalancer.atarnet.org/profile.
func (p *Pod) Profile() scoring.Profile { return p.profile }

// statedProfile is the profile the label, or else the annotation, states.
func statedProfile(labels, annotations map[string]string) scoring.Profile {
	if v, ok := labels[v1alpha1.ProfileKey]; ok {
		return scoring.ParseProfile(v)
	}
	return scoring.ParseProfile(annotations[v1alpha1.ProfileKey])
}

// Key is namespace/name.
func (p *Pod) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
}

// Pod makes the planner's view of a pod. Its Shape is shared with earlier pods of the same shape
// that are still in use. A nil Compactor shares nothing.
func (c *Compactor) Pod(p *corev1.Pod) *Pod {
	out := &Pod{
		Shape:     c.shape(p),
		Namespace: c.str(p.Namespace), Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion,
		NodeName: c.str(p.Spec.NodeName), Phase: phase(p.Status.Phase),
		Requests: scoring.PodRequests(p),
		created:  nanos(p.CreationTimestamp.Time),
		Deleting: p.DeletionTimestamp != nil,
	}
	if p.Status.StartTime != nil {
		out.started = nanos(p.Status.StartTime.Time)
	}
	for i := range p.Status.Conditions {
		if cond := &p.Status.Conditions[i]; cond.Type == corev1.PodReady {
			out.Ready = cond.Status == corev1.ConditionTrue
			out.readySince = nanos(cond.LastTransitionTime.Time)
		}
	}
	return out
}

// phase returns the phase as one of the API's constants, so cached pods do not each keep a copy.
func phase(p corev1.PodPhase) corev1.PodPhase {
	for _, known := range []corev1.PodPhase{corev1.PodRunning, corev1.PodPending, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown} {
		if p == known {
			return known
		}
	}
	return p
}

func (c *Compactor) shape(p *corev1.Pod) *Shape {
	s := &Shape{
		Labels:       p.Labels,
		Annotations:  WithoutLastApplied(p.Annotations),
		LocalStorage: podLocalStorage(p),
		Claims:       hasClaims(p),
	}
	s.profile = statedProfile(s.Labels, s.Annotations)
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		s.Owner = &metav1.OwnerReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Controller: ref.Controller}
	}
	s.Scheduling = c.scheduling(p)
	if c == nil {
		return s
	}
	lh := c.hashMap(s.Labels)
	return c.shapes.get(c.hashShape(s, lh), s, func(s *Shape) {
		// A new shape: its labels may still be those of another shape (pods that differ only
		// in an annotation of their own).
		s.labels = c.labels.get(lh, &stringMap{s.Labels}, nil)
		s.Labels = s.labels.m
		s.ix = c.ids.get()
		runtime.AddCleanup(s, c.ids.put, s.ix)
	})
}

func (c *Compactor) scheduling(p *corev1.Pod) *Scheduling {
	spec := schedulingSpec(&p.Spec)
	key, ok := schedulingKey(spec)
	s := &Scheduling{SchedulerName: p.Spec.SchedulerName, PriorityClassName: p.Spec.PriorityClassName, Spec: spec, key: key}
	if p.Spec.Priority != nil {
		v := *p.Spec.Priority
		s.Priority = &v
	}
	parse := func(s *Scheduling) { s.Constraints = scoring.NewConstraints(p) }
	if c == nil || !ok {
		parse(s)
		return s
	}
	return c.schedulings.get(maphash.String(c.seed, key), s, parse)
}

// WithoutLastApplied returns the annotations without kubectl's copy of the whole object (often the
// largest annotation, never read); the map itself when it has none.
func WithoutLastApplied(a map[string]string) map[string]string {
	if _, ok := a[corev1.LastAppliedConfigAnnotation]; !ok {
		return a
	}
	out := make(map[string]string, len(a)-1)
	for k, v := range a {
		if k != corev1.LastAppliedConfigAnnotation {
			out[k] = v
		}
	}
	return out
}

// podLocalStorage is Shape.LocalStorage for the pod.
func podLocalStorage(p *corev1.Pod) int64 {
	var size int64
	unsized := false
	for i := range p.Spec.Volumes {
		ed := p.Spec.Volumes[i].EmptyDir
		if ed == nil || ed.Medium == corev1.StorageMediumMemory {
			continue
		}
		if ed.SizeLimit == nil {
			unsized = true
			continue
		}
		size += ed.SizeLimit.Value()
	}
	if !unsized {
		return size
	}
	var limit int64
	for i := range p.Spec.Containers {
		q, ok := p.Spec.Containers[i].Resources.Limits[corev1.ResourceEphemeralStorage]
		if !ok {
			return UnboundedStorage
		}
		limit += q.Value()
	}
	return limit
}

func hasClaims(p *corev1.Pod) bool {
	for i := range p.Spec.Volumes {
		if v := &p.Spec.Volumes[i]; v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return false
}
