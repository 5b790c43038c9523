package scheduler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/configz"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/tinorodney/rebalancer/plugins/nodeclassfit"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

// clientset is a typed client for the test control plane.
func clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// writeKubeconfig writes a kubeconfig for the test control plane (127.0.0.1) into dir.
func writeKubeconfig(t testing.TB, dir string) string {
	t.Helper()
	c := env.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// schedulerConfig is a KubeSchedulerConfiguration for the test control plane: the document
// (manifests/scheduler's when doc is ""), with the kubeconfig set and leader election off. (An
// in-process kube-scheduler that loses or releases its lease exits the process; the lease name
// is checked in TestManifestLeaderElection.)
func schedulerConfig(t testing.TB, doc string) string {
	t.Helper()
	if doc == "" {
		b, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "manifests", "scheduler", "kube-scheduler-config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		doc = string(b)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg["clientConnection"] = map[string]any{"kubeconfig": writeKubeconfig(t, dir), "qps": 500, "burst": 1000}
	cfg["leaderElection"] = map[string]any{"leaderElect": false}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scheduler is a kube-scheduler running in this process.
type scheduler struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// setup builds the scheduler from the configuration file as cmd/scheduler does (app.Setup with
// the plugin in the out-of-tree registry), with the plugin options given.
func setup(ctx context.Context, configFile string, opts ...nodeclassfit.Option) (*scheduler, error) {
	o := options.NewOptions()
	o.ConfigFile = configFile
	o.SecureServing.BindPort = 0 // no health or metrics endpoint: nothing to listen on in tests
	ctx, cancel := context.WithCancel(ctx)
	cc, sched, err := app.Setup(ctx, o, app.WithPlugin(nodeclassfit.Name, nodeclassfit.NewFactory(opts...)))
	if err != nil {
		cancel()
		return nil, err
	}
	s := &scheduler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Run returns an error even on a clean stop ("finished without leader elect").
		_ = app.Run(ctx, cc, sched)
	}()
	return s, nil
}

// startScheduler starts the scheduler and stops it when the test ends.
func startScheduler(t testing.TB, configFile string, opts ...nodeclassfit.Option) *scheduler {
	t.Helper()
	s, err := setup(context.Background(), configFile, opts...)
	if err != nil {
		t.Fatalf("starting the scheduler: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// stop stops the scheduler and waits for it.
func (s *scheduler) stop() {
	s.once.Do(func() {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
		}
		// app.Run registers its configuration under this name; the next scheduler needs it free.
		configz.Delete("componentconfig")
	})
}

// snapshotWaiter collects the plugin's published snapshots.
type snapshotWaiter struct {
	mu   sync.Mutex
	last nodeclassfit.Summary
	seen bool
	at   time.Time
}

func (w *snapshotWaiter) option() nodeclassfit.Option {
	return nodeclassfit.WithSnapshotHook(func(s nodeclassfit.Summary) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.last, w.seen = s, true
		if w.at.IsZero() {
			w.at = time.Now()
		}
	})
}

// wait waits until a published snapshot satisfies ok.
func (w *snapshotWaiter) wait(t testing.TB, ok func(nodeclassfit.Summary) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		last, seen := w.last, w.seen
		w.mu.Unlock()
		if seen && ok(last) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("no snapshot as expected within 60s; last: %+v (seen %v)", w.last, w.seen)
}

// firstSnapshot is when the first snapshot was published (zero if none).
func (w *snapshotWaiter) firstSnapshot() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at
}

// testNode is a Ready node (loopback InternalIP) with the given cores, memory and labels.
func testNode(name, cpu, memory string, lbls map[string]string) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Status: corev1.NodeStatus{
			Capacity: res, Allocatable: res,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
		},
	}
}

// createNode creates the node, Ready. The API server ignores status on create and taints a new
// node not-ready (TaintNodesByCondition); with no kubelet and no node lifecycle controller, the
// test sets the status and lifts the taint itself.
func createNode(ctx context.Context, cs kubernetes.Interface, n *corev1.Node) error {
	created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating node %s: %w", n.Name, err)
	}
	created.Status = n.Status
	updated, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating node %s status: %w", n.Name, err)
	}
	updated.Spec.Taints = nil
	if _, err := cs.CoreV1().Nodes().Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("lifting node %s's not-ready taint: %w", n.Name, err)
	}
	return nil
}

func deleteNodes(ctx context.Context, cs kubernetes.Interface, selector string) error {
	return cs.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector})
}

// createNamespace creates a namespace named prefix-<random> and deletes it, with its pods, when
// the test ends. (No namespace controller runs, so a deleted namespace stays Terminating: names
// are never reused.)
func createNamespace(t testing.TB, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ctx := context.Background()
	created, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.Name
	t.Cleanup(func() {
		_ = deletePods(ctx, cs, name)
		_ = cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
	return name
}

// deletePods deletes every pod of the namespace at once (no kubelet runs to finish them).
func deletePods(ctx context.Context, cs kubernetes.Interface, ns string) error {
	return cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
}

// testPod is a pod with one container requesting cpu and memory.
func testPod(ns, name, schedulerName, cpu, memory string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec: corev1.PodSpec{
			SchedulerName: schedulerName,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
				}}}},
		},
	}
}

// waitBound waits until the pod is bound and returns its node.
func waitBound(t testing.TB, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if err == nil && p.Spec.NodeName != "" {
			return p.Spec.NodeName
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s not bound within 60s", ns, name)
	return ""
}
