// Package whatif_test runs the what-if command against the real API server: read live with the
// shipped read-only ClusterRole, dumped, and planned from the dump.
package whatif_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/cmd/rebalancer/app"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

var env *controlplane.Env

func TestMain(m *testing.M) {
	os.Exit(controlplane.Run(m, func(e *controlplane.Env) (func(int), error) {
		env = e
		return nil, nil
	}))
}

// The readings of the metrics API the proxy serves end at taken.
var taken = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// A user bound only to manifests/whatif's ClusterRole runs `plan` live, `dump`, and `plan --dump`
// on the dump: the two plans are the same, and every request the commands made was a GET (the
// proxy in front of the API server records them; RBAC would refuse a write anyway).
func TestLivePlanEqualsDumpPlan(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	applyClusterRole(t)
	if err := c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "whatif-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rebalancer-whatif"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "whatif-reader"}},
	}); err != nil {
		t.Fatal(err)
	}
	userCfg, err := env.AddUser("whatif-reader")
	if err != nil {
		t.Fatal(err)
	}
	nodes, pods := cluster(t)
	if err := c.Create(ctx, &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: v1alpha1.RebalancePolicySpec{Destinations: ptr.To(v1alpha1.DestinationsNotHot),
			// The pods were created now, after the readings the proxy serves.
			Safety: &v1alpha1.Safety{MinPodAge: &metav1.Duration{}}}}); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, userCfg, nodes, pods)
	kubeconfig := p.kubeconfig(t)

	live := runOK(t, "plan", "--kubeconfig", kubeconfig, "-o", "json")
	dir := filepath.Join(t.TempDir(), "dump")
	runOK(t, "dump", dir, "--kubeconfig", kubeconfig)
	fromDump := runOK(t, "plan", "--dump", dir, "-o", "json")
	if live != fromDump {
		t.Errorf("plan --kubeconfig and plan --dump differ:\nlive: %s\ndump: %s", live, fromDump)
	}
	// Lists read in pages of two objects (limit and continue) make the same plan.
	before := p.continued()
	if paged := runOK(t, "plan", "--kubeconfig", kubeconfig, "-o", "json", "--chunk-size", "2"); paged != live {
		t.Errorf("plan --chunk-size 2 differs from one request a list:\npaged: %s\nwhole: %s", paged, live)
	}
	if n := p.continued() - before; n < 2 {
		t.Errorf("%d list requests carried a continue token with --chunk-size 2, want the nodes and pods read in pages", n)
	}
	var plan struct {
		HotNodes []string `json:"hotNodes"`
		Moves    []struct {
			Pod string `json:"pod"`
		} `json:"moves"`
	}
	if err := json.Unmarshal([]byte(live), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.HotNodes) != 1 || len(plan.Moves) == 0 {
		t.Errorf("live plan: hot nodes %v, %d moves; want hot-1 hot and moves off it:\n%s", plan.HotNodes, len(plan.Moves), live)
	}
	if writes := p.writes(); len(writes) > 0 {
		t.Errorf("the what-if made requests other than GET: %v", writes)
	}
	if p.count() == 0 {
		t.Fatal("no request went through the proxy")
	}

	// Without the role the command fails with one line naming the permission.
	nobody, err := env.AddUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	refused := newProxy(t, nobody, nodes, pods)
	code, stdout, stderr := run("plan", "--kubeconfig", refused.kubeconfig(t))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "forbidden: the what-if needs get and list on nodes") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("without the ClusterRole: exit %d, stdout %q, stderr %q; want 1, nothing, one line naming the permission", code, stdout, stderr)
	}
}

func applyClusterRole(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "manifests", "whatif", "clusterrole.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), &role); err != nil {
		t.Fatal(err)
	}
}

// cluster creates four nodes, one of them hot, with pods of two ReplicaSets bound to them, and
// returns the usage each node and pod reports (millicores).
func cluster(t *testing.T) (map[string]int64, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	c := env.Client
	nodes, pods := map[string]int64{}, map[string]int64{}
	for _, ns := range []string{"shop"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"hot-1", "cold-1", "cold-2", "cold-3"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
		if err := c.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		n.Status = corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		}
		if err := c.Status().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
		// The API server taints a new node not-ready; no node controller runs here to lift it.
		n.Spec.Taints = nil
		if err := c.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
		nodes[name] = 200
	}
	for i := range 12 {
		node := "hot-1"
		if i >= 8 {
			node = fmt.Sprintf("cold-%d", 1+(i-8)%3)
		}
		rs := fmt.Sprintf("web-%d", i%4)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("%s-%d", rs, i), Labels: map[string]string{"app": rs, v1alpha1.OptInLabelKey: v1alpha1.OptInLabelValue},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: "uid-" + "rs", Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/web",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}},
		}
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		started := metav1.NewTime(taken.Add(-time.Hour))
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}}
		if err := c.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		pods["shop/"+p.Name] = 400
		nodes[node] += 400
	}
	return nodes, pods
}

// proxy stands between the what-if and the API server: it serves metrics.k8s.io from fixed
// readings (the test control plane runs no metrics-server), forwards the rest as the user, and
// records every request.
type proxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []string
}

func newProxy(t *testing.T, user *rest.Config, nodes, pods map[string]int64) *proxy {
	t.Helper()
	target, err := url.Parse(user.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(user)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	p := &proxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		p.mu.Unlock()
		switch r.URL.Path {
		case "/apis/metrics.k8s.io/v1beta1/nodes":
			writeJSON(w, nodeMetrics(nodes))
		case "/apis/metrics.k8s.io/v1beta1/pods":
			writeJSON(w, podMetrics(pods))
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) writes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.log {
		if !strings.HasPrefix(l, "GET ") {
			out = append(out, l)
		}
	}
	return out
}

// continued counts the requests that asked for the next page of a list.
func (p *proxy) continued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.log {
		if strings.Contains(l, "continue=") {
			n++
		}
	}
	return n
}

func (p *proxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

func (p *proxy) kubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {server: " + p.srv.URL + "}\n" +
		"users:\n- name: u\n  user: {}\ncontexts:\n- name: test\n  context: {cluster: test, user: u}\ncurrent-context: test\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func nodeMetrics(nodes map[string]int64) *metricsv1beta1.NodeMetricsList {
	l := &metricsv1beta1.NodeMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: "metrics.k8s.io/v1beta1", Kind: "NodeMetricsList"}}
	for name, milli := range nodes {
		l.Items = append(l.Items, metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: name},
			Timestamp: metav1.NewTime(taken.Add(-15 * time.Second)), Window: metav1.Duration{Duration: 15 * time.Second},
			Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(milli, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse("2Gi")}})
	}
	return l
}

func podMetrics(pods map[string]int64) *metricsv1beta1.PodMetricsList {
	l := &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: "metrics.k8s.io/v1beta1", Kind: "PodMetricsList"}}
	for key, milli := range pods {
		ns, name, _ := strings.Cut(key, "/")
		l.Items = append(l.Items, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Timestamp: metav1.NewTime(taken.Add(-15 * time.Second)), Window: metav1.Duration{Duration: 15 * time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU: *resource.NewMilliQuantity(milli, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse("128Mi")}}}})
	}
	return l
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := app.Main(append([]string{"rebalancer"}, args...), &stdout, &stderr, taken)
	return code, stdout.String(), stderr.String()
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := run(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return stdout
}
