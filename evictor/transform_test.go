package evictor

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

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

// BenchmarkCachedPodHeap reports heap bytes per cached pod, after the transform and without it
// (the baseline in the same run), over 50,000 synthetic pods as the API server returns them.
// The objects the informer decodes are dropped; only what the cache keeps stays live.
func BenchmarkCachedPodHeap(b *testing.B) {
	const n = 50000
	for _, tc := range []struct {
		name      string
		transform func(any) (any, error)
	}{
		{"transform=trimpod", TrimPod},
		{"transform=none", func(o any) (any, error) { return o, nil }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				kept := make([]any, n)
				for i := range kept {
					kept[i], _ = tc.transform(fullPod(i))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/pod")
				runtime.KeepAlive(kept)
			}
		})
	}
}

func intstrFromInt(v int) intstr.IntOrString { return intstr.FromInt(v) }

// TestTrimPodKeepsWhatThePlannerReads: requests, local storage and statefulness read the same
// from the trimmed pod as from the full one.
func TestTrimPodKeepsWhatThePlannerReads(t *testing.T) {
	full := fullPod(1)
	full.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
	full.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	full.Spec.Volumes = append(full.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "d"}}})
	obj, err := TrimPod(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := obj.(*corev1.Pod)
	if got, want := scoring.PodRequests(trimmed), scoring.PodRequests(full); got != want {
		t.Errorf("requests %+v, want %+v", got, want)
	}
	if len(trimmed.ManagedFields) != 0 || trimmed.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "" {
		t.Error("managed fields or last-applied annotation kept")
	}
	if len(trimmed.Spec.Volumes) != 2 || trimmed.Spec.Volumes[0].EmptyDir == nil || trimmed.Spec.Volumes[1].PersistentVolumeClaim == nil {
		t.Errorf("volumes %+v, want the emptyDir and the claim", trimmed.Spec.Volumes)
	}
	if len(trimmed.Status.Conditions) != 1 || trimmed.Status.Conditions[0].Type != corev1.PodReady || trimmed.Spec.NodeName != full.Spec.NodeName {
		t.Errorf("status %+v", trimmed.Status)
	}
	if len(trimmed.OwnerReferences) != 1 || trimmed.OwnerReferences[0].Kind != "ReplicaSet" {
		t.Errorf("owner %+v", trimmed.OwnerReferences)
	}
}

func fieldsV1(n int) *metav1.FieldsV1 {
	f := &metav1.FieldsV1{}
	f.SetRawBytes(make([]byte, n))
	return f
}
