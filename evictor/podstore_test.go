package evictor

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	toolscache "k8s.io/client-go/tools/cache"

	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// fullPod is a pod as the API server returns it: managed fields, kubectl's last-applied copy, a
// few containers with env, probes and mounts, the service-account volume, tolerations, statuses.
func fullPod(i int) *corev1.Pod {
	name := fmt.Sprintf("web-7d9f8c6b5-%05d", i)
	container := func(n string) corev1.Container {
		return corev1.Container{
			Name: n, Image: "registry.example.com/team/web:1.2.3", Command: []string{"/app", "--serve"},
			Args: []string{"--port=8080", "--log-level=info"},
			Env:  []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "two"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			VolumeMounts:   []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstrFromInt(8080)}}},
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "prod", UID: types.UID(fmt.Sprintf("0f8a1c2e-1111-2222-3333-%012d", i)), ResourceVersion: "123456789",
			GenerateName: "web-7d9f8c6b5-", CreationTimestamp: metav1.Now(),
			Labels:      map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5", "rebalancer": "ok"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(make([]byte, 1500)), "prometheus.io/scrape": "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8c6b5",
				UID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsV1: fieldsV1(2000)}, {Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate,
				Subresource: "status", FieldsV1: fieldsV1(1500)}},
		},
		Spec: corev1.PodSpec{
			NodeName: fmt.Sprintf("node-%04d", i%500), SchedulerName: "default-scheduler", ServiceAccountName: "web",
			Containers: []corev1.Container{container("web"), container("sidecar")},
			Volumes: []corev1.Volume{{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}}}}}},
				{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("100Mi"))}}}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "127.0.0.1", HostIP: "127.0.0.1", StartTime: ptr.To(metav1.Now()), QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}, {Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, Image: "registry.example.com/team/web:1.2.3", ImageID: "sha256:0123456789abcdef", ContainerID: "containerd://0123456789abcdef"},
				{Name: "sidecar", Ready: true, Image: "registry.example.com/team/web:1.2.3", ImageID: "sha256:0123456789abcdef", ContainerID: "containerd://0123456789abcdef"}},
		},
	}
}

func intstrFromInt(v int) intstr.IntOrString { return intstr.FromInt(v) }

func fieldsV1(n int) *metav1.FieldsV1 {
	f := &metav1.FieldsV1{}
	f.SetRawBytes(make([]byte, n))
	return f
}

// uniqueAnnotations gives the pod an annotation no other pod has, as some network plugins do
// (Calico writes each pod's IP): its shape is then its own.
func uniqueAnnotations(p *corev1.Pod, i int) *corev1.Pod {
	p.Annotations["cni.projectcalico.org/podIP"] = fmt.Sprintf("10.%d.%d.%d/32", i>>16, (i>>8)&255, i&255)
	return p
}

// BenchmarkCachedPodHeap reports heap bytes per cached pod over 50,000 synthetic pods as the API
// server returns them, each stored in a client-go indexer with the by-node index, as informers
// store them: through the PodStore's transform (pods of a workload share their shape; and with an
// annotation unique to each pod, the worst case), and, as the baseline in the same run, the
// decoded corev1.Pod as it is. Only what the store keeps stays live.
func BenchmarkCachedPodHeap(b *testing.B) {
	const n = 50000
	for _, tc := range []struct {
		name      string
		pod       func(int) *corev1.Pod
		transform func(*PodStore, any) (any, error)
	}{
		{"store=podstore,annotations=shared", fullPod, (*PodStore).transform},
		{"store=podstore,annotations=unique", func(i int) *corev1.Pod { return uniqueAnnotations(fullPod(i), i) }, (*PodStore).transform},
		{"store=corev1", fullPod, func(_ *PodStore, o any) (any, error) { return o, nil }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				store := NewPodStore(nil)
				indexer := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{IndexPodNode: func(o any) ([]string, error) {
					if p, ok := o.(*corev1.Pod); ok {
						return []string{p.Spec.NodeName}, nil
					}
					return podNodeIndex(o)
				}})
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := 0; i < n; i++ {
					obj, err := tc.transform(store, tc.pod(i))
					if err != nil {
						b.Fatal(err)
					}
					if err := indexer.Add(obj); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "heap-bytes/pod")
				if len(indexer.List()) != n {
					b.Fatalf("%d pods in the store, want %d", len(indexer.List()), n)
				}
				runtime.KeepAlive(store)
			}
		})
	}
}

// BenchmarkPodTransform is the cost of the PodStore's transform per pod event, beside the cost of
// a deep copy of the pod (what controller-runtime's cache does on every read) in the same run.
func BenchmarkPodTransform(b *testing.B) {
	pods := make([]*corev1.Pod, 1000)
	for i := range pods {
		pods[i] = fullPod(i)
	}
	b.Run("transform", func(b *testing.B) {
		b.ReportAllocs()
		store := NewPodStore(nil)
		i := 0
		for b.Loop() {
			if _, err := store.transform(pods[i%len(pods)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("baseline=deepcopy", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = pods[i%len(pods)].DeepCopy()
			i++
		}
	})
}

// TestPodStoreTransform: the planner reads the same from the cached pod as from the full one, a
// pod passes through unchanged the second time (informers require idempotence), tombstones are
// transformed too, and replicas of one workload share their shape.
func TestPodStoreTransform(t *testing.T) {
	store := NewPodStore(nil)
	full := fullPod(1)
	full.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
	full.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	full.Spec.Volumes = append(full.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "d"}}})
	obj, err := store.transform(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := obj.(*planner.Pod)
	if !ok {
		t.Fatalf("transform gave %T, want *planner.Pod", obj)
	}
	if got, want := p.Requests, scoring.PodRequests(full); got != want {
		t.Errorf("requests %+v, want %+v", got, want)
	}
	if p.Namespace != full.Namespace || p.Name != full.Name || p.UID != full.UID || p.NodeName != full.Spec.NodeName || p.ResourceVersion != full.ResourceVersion {
		t.Errorf("identity %s/%s %s on %s, want the full pod's", p.Namespace, p.Name, p.UID, p.NodeName)
	}
	if _, ok := p.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok || p.Annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("annotations %v: want the last-applied copy dropped and the rest kept", p.Annotations)
	}
	if !p.Claims || p.LocalStorage != 100<<20 || !p.Ready || p.Phase != corev1.PodRunning || p.Owner == nil || p.Owner.Kind != "ReplicaSet" {
		t.Errorf("claims %v, local storage %d, ready %v, phase %s, owner %+v", p.Claims, p.LocalStorage, p.Ready, p.Phase, p.Owner)
	}
	if again, _ := store.transform(p); again != p {
		t.Error("transforming a cached pod again changed it")
	}
	tomb, _ := store.transform(toolscache.DeletedFinalStateUnknown{Key: "prod/x", Obj: fullPod(2)})
	if _, ok := tomb.(toolscache.DeletedFinalStateUnknown).Obj.(*planner.Pod); !ok {
		t.Errorf("tombstone holds %T, want *planner.Pod", tomb.(toolscache.DeletedFinalStateUnknown).Obj)
	}
	a, _ := store.transform(fullPod(3))
	b, _ := store.transform(fullPod(4))
	if a.(*planner.Pod).Shape != b.(*planner.Pod).Shape {
		t.Error("two replicas of one workload do not share their shape")
	}
	key, err := toolscache.MetaNamespaceKeyFunc(a)
	if err != nil || key != "prod/"+fullPod(3).Name {
		t.Errorf("informer key %q (%v), want prod/%s", key, err, fullPod(3).Name)
	}
}

// TestPodStoreIndexes: the store finds a workload's pods and a node's pods through its indexes,
// across namespaces and kinds of controller, and follows pods that move or go.
func TestPodStoreIndexes(t *testing.T) {
	store := NewPodStore(nil)
	idx := store.informer.GetIndexer()
	add := func(p *corev1.Pod) {
		t.Helper()
		obj, err := store.transform(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ps []*planner.Pod, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	now := time.Now()
	add(replicaOf("shop", "web-a", "web", "node-1", now))
	add(replicaOf("shop", "web-b", "web", "", now))
	add(replicaOf("shop", "api-a", "api", "node-1", now))
	add(replicaOf("staging", "web-a", "web", "node-2", now))
	sts := replicaOf("shop", "web-0", "web", "node-2", now)
	sts.OwnerReferences[0].Kind = "StatefulSet"
	add(sts)
	bare := replicaOf("shop", "bare", "web", "node-1", now)
	bare.OwnerReferences = nil
	add(bare)

	web := planner.WorkloadKey{Namespace: "shop", Kind: "ReplicaSet", Name: "web"}
	if got, want := names(store.OfWorkload(web)), "shop/web-a shop/web-b"; got != want {
		t.Errorf("OfWorkload(%v) = %q, want %q", web, got, want)
	}
	if got, want := names(store.OfWorkload(planner.WorkloadKey{Namespace: "shop", Kind: "StatefulSet", Name: "web"})), "shop/web-0"; got != want {
		t.Errorf("OfWorkload(StatefulSet web) = %q, want %q", got, want)
	}
	if got := names(store.OfWorkload(planner.WorkloadKey{Namespace: "shop", Kind: "ReplicaSet", Name: "none"})); got != "" {
		t.Errorf("OfWorkload(a workload without pods) = %q, want none", got)
	}
	if got, want := names(store.OnNode("node-1")), "shop/api-a shop/bare shop/web-a"; got != want {
		t.Errorf("OnNode(node-1) = %q, want %q", got, want)
	}
	// The pending replica is bound, and a replica goes: both indexes follow.
	add(replicaOf("shop", "web-b", "web", "node-2", now))
	gone, _ := store.transform(replicaOf("shop", "web-a", "web", "node-1", now))
	if err := idx.Delete(gone); err != nil {
		t.Fatal(err)
	}
	if got, want := names(store.OfWorkload(web)), "shop/web-b"; got != want {
		t.Errorf("after the changes, OfWorkload(%v) = %q, want %q", web, got, want)
	}
	if got, want := names(store.OnNode("node-2")), "shop/web-0 shop/web-b staging/web-a"; got != want {
		t.Errorf("after the changes, OnNode(node-2) = %q, want %q", got, want)
	}
}
