package placement

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Pod is a pod the engine places others around. The planner's pods implement it, so that the
// engine builds the scheduler's view of a pod (framework.PodInfo: parsed affinity terms, summed
// requests) once per pod version and not once per plan.
type Pod interface {
	// PlacementKey identifies this version of the pod: two equal keys are the same pod, bound to
	// the same node, with the same spec and labels.
	PlacementKey() PodKey
	// SchedulingPod is the pod as the scheduler reads it, bound to its node.
	SchedulingPod() *corev1.Pod
}

// PodKey identifies a version of a bound pod.
type PodKey struct {
	Namespace, Name string
	UID             types.UID
	// Version is the pod's resourceVersion ("" for pods that never change, as in a dump).
	Version string
	Node    string
}

// APIPod is a Pod over a full API object.
type APIPod struct{ *corev1.Pod }

// PlacementKey is the pod's UID, resourceVersion and node.
func (p APIPod) PlacementKey() PodKey {
	return PodKey{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Version: p.ResourceVersion, Node: p.Spec.NodeName}
}

// SchedulingPod is the pod itself.
func (p APIPod) SchedulingPod() *corev1.Pod { return p.Pod }

// APIPods wraps pods.
func APIPods(pods []*corev1.Pod) []Pod {
	out := make([]Pod, len(pods))
	for i, p := range pods {
		out[i] = APIPod{p}
	}
	return out
}

// podInfos keeps the framework's PodInfo of every pod seen in the last session, by UID.
type podInfos struct {
	m     map[types.UID]*cachedPod
	epoch uint64
}

type cachedPod struct {
	key  PodKey
	pi   *framework.PodInfo
	seen uint64
}

// get returns the pod's PodInfo, made again only when the pod changed.
func (c *podInfos) get(p Pod) (*framework.PodInfo, error) {
	key := p.PlacementKey()
	if e := c.m[key.UID]; e != nil && e.key == key {
		e.seen = c.epoch
		return e.pi, nil
	}
	pi, err := framework.NewPodInfo(p.SchedulingPod())
	if err != nil {
		return nil, err
	}
	pi.CalculateResource() // computed once, kept in the PodInfo
	c.m[key.UID] = &cachedPod{key: key, pi: pi, seen: c.epoch}
	return pi, nil
}

// sweep forgets the pods not seen since begin.
func (c *podInfos) sweep() {
	for uid, e := range c.m {
		if e.seen != c.epoch {
			delete(c.m, uid)
		}
	}
}

// clusterState is the scheduler's view of the cluster in a session, what kube-scheduler's
// cache.Snapshot holds: a NodeInfo per node with its pods, the lists of nodes with (anti-)affinity
// pods, PVC use, image counts. It is built from cached PodInfos (a cache.Snapshot can only be
// built from pods, parsing each again), and moves change it in place: a session's state is
// thrown away at Close. The property test compares it with cache.NewSnapshot.
type clusterState struct {
	infos map[string]*framework.NodeInfo
	list  []fwk.NodeInfo // sorted by name
	// The affinity lists are recomputed after moves (dirty).
	dirty                                     bool
	withAffinity, withReqAnti, withReqNonHost []fwk.NodeInfo
	pvcRefs                                   map[string]int
	// groups serves the pod-group listers: the engine places single pods.
	groups *cache.Snapshot
}

func newClusterState(nodes []*corev1.Node, pods []Pod, infos *podInfos) (*clusterState, error) {
	s := &clusterState{infos: make(map[string]*framework.NodeInfo, len(nodes)), list: make([]fwk.NodeInfo, 0, len(nodes)),
		pvcRefs: map[string]int{}, groups: cache.NewEmptySnapshot(), dirty: true}
	images := imageCounts(nodes)
	sorted := append([]*corev1.Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, n := range sorted {
		ni := framework.NewNodeInfo()
		ni.SetNode(n)
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				ni.ImageStates[name] = &fwk.ImageStateSummary{Size: img.SizeBytes, NumNodes: images[name]}
			}
		}
		s.infos[n.Name] = ni
		s.list = append(s.list, ni)
	}
	infos.epoch++
	for _, p := range pods {
		// A pod still bound to a deleted node is not in kube-scheduler's snapshot either.
		ni := s.infos[p.PlacementKey().Node]
		if ni == nil {
			continue
		}
		pi, err := infos.get(p)
		if err != nil {
			return nil, err
		}
		ni.AddPodInfo(pi)
	}
	infos.sweep()
	for _, ni := range s.infos {
		for key := range ni.PVCRefCounts {
			s.pvcRefs[key]++
		}
	}
	return s, nil
}

// imageCounts is on how many nodes each image name is, as cache.Snapshot counts them.
func imageCounts(nodes []*corev1.Node) map[string]int {
	count := map[string]int{}
	for _, n := range nodes {
		seen := map[string]bool{}
		for _, img := range n.Status.Images {
			for _, name := range img.Names {
				if !seen[name] {
					seen[name] = true
					count[name]++
				}
			}
		}
	}
	return count
}

// remove takes pod off its node.
func (s *clusterState) remove(logger klog.Logger, pod *corev1.Pod) error {
	ni := s.infos[pod.Spec.NodeName]
	if ni == nil {
		return fmt.Errorf("node %q not found", pod.Spec.NodeName)
	}
	if err := ni.RemovePod(logger, pod); err != nil {
		return err
	}
	for key := range framework.PodPVCKeys(pod) {
		if s.pvcRefs[key]--; s.pvcRefs[key] <= 0 {
			delete(s.pvcRefs, key)
		}
	}
	s.dirty = true
	return nil
}

// add binds pod to node.
func (s *clusterState) add(pod *corev1.Pod, node string) error {
	ni := s.infos[node]
	if ni == nil {
		return fmt.Errorf("node %q not found", node)
	}
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		return err
	}
	ni.AddPodInfo(pi)
	for key := range framework.PodPVCKeys(pod) {
		s.pvcRefs[key]++
	}
	s.dirty = true
	return nil
}

func (s *clusterState) refresh() {
	if !s.dirty {
		return
	}
	s.withAffinity, s.withReqAnti, s.withReqNonHost = s.withAffinity[:0], s.withReqAnti[:0], s.withReqNonHost[:0]
	for _, v := range s.list {
		ni := v.(*framework.NodeInfo)
		if len(ni.PodsWithAffinity) > 0 {
			s.withAffinity = append(s.withAffinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.withReqAnti = append(s.withReqAnti, ni)
		}
		if len(ni.PodsWithRequiredNonHostScopedAntiAffinity) > 0 {
			s.withReqNonHost = append(s.withReqNonHost, ni)
		}
	}
	s.dirty = false
}

var (
	_ fwk.SharedLister      = (*clusterState)(nil)
	_ fwk.NodeInfoLister    = (*clusterState)(nil)
	_ fwk.StorageInfoLister = (*clusterState)(nil)
)

func (s *clusterState) NodeInfos() fwk.NodeInfoLister           { return s }
func (s *clusterState) StorageInfos() fwk.StorageInfoLister     { return s }
func (s *clusterState) PodGroupStates() fwk.PodGroupStateLister { return s.groups.PodGroupStates() }
func (s *clusterState) PodGroups() fwk.PodGroupLister           { return s.groups.PodGroups() }
func (s *clusterState) CompositePodGroups() fwk.CompositePodGroupLister {
	return s.groups.CompositePodGroups()
}
func (s *clusterState) IsPVCUsedByPods(key string) bool { return s.pvcRefs[key] > 0 }
func (s *clusterState) List() ([]fwk.NodeInfo, error)   { return s.list, nil }
func (s *clusterState) CompositePodGroupStates() fwk.CompositePodGroupStateLister {
	return s.groups.CompositePodGroupStates()
}

func (s *clusterState) HavePodsWithAffinityList() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.withAffinity, nil
}

func (s *clusterState) HavePodsWithRequiredAntiAffinityList() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.withReqAnti, nil
}

func (s *clusterState) HavePodsWithRequiredNonHostScopedAntiAffinityList() ([]fwk.NodeInfo, error) {
	s.refresh()
	return s.withReqNonHost, nil
}

func (s *clusterState) Get(nodeName string) (fwk.NodeInfo, error) {
	if ni, ok := s.infos[nodeName]; ok {
		return ni, nil
	}
	return nil, fmt.Errorf("nodeinfo not found for node name %q", nodeName)
}
