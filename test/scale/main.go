// Command scale runs the Rebalancer at scale on the kwok sandbox (hack/demo/sandbox.sh) and writes
// what it measured to docs/scale.md: for each size, a cluster of simulated nodes with 30 pods a
// node, metrics-server, the rebalancer-scheduler and the evictor in live mode, as the processes a
// user runs. `make scale` builds what it needs and runs it.
//
// What a run does, per size N:
//  1. N nodes (a fifth Raspberry Pi 4s, the rest x86 servers), the demo's NodeClasses, and 26
//     background pods bound to every node (not opted in; usage from kwok annotations).
//  2. 3N opted-in pods in Deployments of 30 (rebalancer=ok, schedulerName rebalancer-scheduler),
//     created while only 30% of the nodes (x86) are schedulable and the scheduler is not running;
//     then the scheduler starts and places them all (its pods/s on a cluster where 70% of the
//     nodes are cordoned), which makes those nodes hot.
//  3. The nodes are uncordoned, the scheduler is stopped, N unlabelled pods that only it places are
//     created, and it is started again: its pods/s with every node feasible and scored.
//  4. The evictor starts, as its own ServiceAccount with the chart's RBAC, on a live policy with a
//     10s interval, and runs for -duration: time to its first plan, every cycle's time (its
//     "Cycle done" log lines), its RSS and heap (its /metrics, every second), and its API requests
//     and watches from the kube-apiserver's audit log (a policy that records only the evictor's
//     ServiceAccount).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/tinorodney/rebalancer/test/procs"
)

// The sandbox's loopback ports, apart from the demo's and the e2e's.
const (
	clusterName   = "rebalancer-scale"
	apiserverPort = "38443"
	kwokPort      = "38247"
	evictorAddr   = "127.0.0.1:38080"
	probeAddr     = "127.0.0.1:38081"
	schedulerAddr = "127.0.0.1:38259"
	pprofAddr     = "127.0.0.1:38082"

	evictorSA   = "rebalancer-evictor"
	releaseNS   = "rebalancer-system"
	podsPerNode = 30
	// background pods a node, opted-in pods a node (on average), probe pods a node: 30 in all.
	backgroundPerNode = 26
	optedInPerNode    = 3
	replicasPerDeploy = 30
	hotShare          = 0.3
	namespaces        = 10
)

var evictorUser = "system:serviceaccount:" + releaseNS + ":" + evictorSA

type config struct {
	root, bin, out string
	sizes          []int
	duration       time.Duration
}

func main() {
	var c config
	var sizes string
	flag.StringVar(&sizes, "sizes", "300,1000", "Comma-separated node counts; each runs with 30 pods a node.")
	flag.DurationVar(&c.duration, "duration", 5*time.Minute, "How long the evictor runs at each size after its first plan.")
	flag.StringVar(&c.out, "out", "", "Markdown file to write (default: docs/scale.md of the repository).")
	flag.Parse()
	root, err := filepath.Abs("..")
	if err != nil {
		fail(err)
	}
	c.root = root
	c.bin = cmp.Or(os.Getenv("REBALANCER_BIN"), filepath.Join(root, "bin"))
	c.out = cmp.Or(c.out, filepath.Join(root, "docs/scale.md"))
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		// Below 100 nodes the scheduler may place every probe pod within one 250ms poll of its
		// metrics, too fast to time.
		if err != nil || n < 100 {
			fail(fmt.Errorf("-sizes: %q is not a node count of at least 100", s))
		}
		c.sizes = append(c.sizes, n)
	}
	var results []*result
	for _, n := range c.sizes {
		r, err := runSize(c, n)
		if err != nil {
			fail(fmt.Errorf("%d nodes: %w", n, err))
		}
		results = append(results, r)
		logf("%d nodes: %s", n, r.summary())
	}
	if err := os.WriteFile(c.out, []byte(markdown(c, results)), 0o644); err != nil { //nolint:gosec // a document
		fail(err)
	}
	logf("wrote %s", c.out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[scale %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// result is what one size measured.
type result struct {
	nodes, pods, evictions int
	setup                  time.Duration
	// initial: the opted-in pods placed on the schedulable 30%; probe: pods placed with every node
	// schedulable.
	initial, probe   placement
	schedulerRSS     float64
	firstPlan        time.Duration
	cycles, plans    []float64 // seconds, from the evictor's "Cycle done" lines
	parts            map[string][]float64
	evictorRSS, heap float64 // max over the run, bytes
	api              apiUse
	window           time.Duration // from the first plan to the end
}

type placement struct {
	pods    int
	seconds float64
}

func (p placement) rate() float64 { return float64(p.pods) / p.seconds }

func (r *result) summary() string {
	return fmt.Sprintf("%d pods, cycle p50 %.3fs p99 %.3fs, evictor RSS %.0f MiB, scheduler %.1f pods/s (all nodes), first plan after %s",
		r.pods, quantile(r.cycles, 0.5), quantile(r.cycles, 0.99), r.evictorRSS/(1<<20), r.probe.rate(), r.firstPlan.Round(100*time.Millisecond))
}

// run is one sandbox with its processes.
type run struct {
	c          config
	n          int
	dir        string
	kubeconfig string
	cs         *kubernetes.Clientset
	rest       *rest.Config
	procs      []*exec.Cmd
}

func runSize(c config, n int) (*result, error) {
	ctx := context.Background()
	r := &run{c: c, n: n, dir: filepath.Join(c.bin, "sandbox", clusterName)}
	defer r.tearDown()
	res := &result{nodes: n}
	start := time.Now()
	if err := r.up(); err != nil {
		return nil, err
	}
	if err := r.populate(ctx); err != nil {
		return nil, err
	}
	res.setup = time.Since(start)
	logf("%d nodes: cluster up and populated in %s", n, res.setup.Round(time.Second))

	var err error
	if res.initial, err = r.placeOptedIn(ctx); err != nil {
		return nil, err
	}
	if res.probe, res.schedulerRSS, err = r.placeProbes(ctx); err != nil {
		return nil, err
	}
	if err := r.runEvictor(ctx, res); err != nil {
		return nil, err
	}
	if res.api, err = readAudit(r.auditLog(), evictorUser, res); err != nil {
		return nil, err
	}
	// Kept for reading after the sandbox is gone (it holds only the evictor's requests).
	if err := exec.Command("cp", r.auditLog(), filepath.Join(r.dir, fmt.Sprintf("audit-%d.log", n))).Run(); err != nil { //nolint:gosec // our own paths
		return nil, err
	}
	pods, err := r.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	res.pods = len(pods.Items)
	return res, nil
}

func (r *run) sandbox(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(r.c.root, "hack/demo/sandbox.sh"), args...) //nolint:gosec // our own script
	cmd.Env = append(os.Environ(), "REBALANCER_BIN="+r.c.bin, "SANDBOX_NO_QPS_LIMITS=1",
		"SANDBOX_AUDIT_POLICY="+filepath.Join(r.c.root, "test/scale/audit-policy.yaml"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	err := cmd.Run()
	return out.String(), err
}

func (r *run) kubectl(args ...string) error {
	cmd := exec.Command(filepath.Join(r.c.bin, "controlplane/kubectl"), append([]string{"--kubeconfig", r.kubeconfig}, args...)...) //nolint:gosec // our own binary
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	return cmd.Run()
}

func (r *run) auditLog() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kwok/clusters", clusterName, "logs/audit.log")
}

func (r *run) up() error {
	out, err := r.sandbox("up", clusterName, apiserverPort, kwokPort)
	if err != nil {
		return err
	}
	r.kubeconfig = strings.TrimSpace(out)
	if r.rest, err = clientcmd.BuildConfigFromFlags("", r.kubeconfig); err != nil {
		return err
	}
	r.rest.QPS, r.rest.Burst = -1, 0 // no client-side limit: the setup is not what is measured
	if r.cs, err = kubernetes.NewForConfig(r.rest); err != nil {
		return err
	}
	for _, f := range []string{"manifests/crds", "hack/demo/manifests/nodeclasses.yaml", "manifests/samples/nodeclass_rpi4.yaml"} {
		if f == "hack/demo/manifests/nodeclasses.yaml" {
			if err := r.kubectl("wait", "--for", "condition=Established", "--timeout", "60s", "crd", "--all"); err != nil {
				return err
			}
		}
		if err := r.kubectl("apply", "-f", filepath.Join(r.c.root, f)); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) tearDown() {
	for _, p := range r.procs {
		procs.Stop(p)
	}
	if _, err := r.sandbox("down", clusterName); err != nil {
		logf("deleting the sandbox: %v", err)
	}
}

// start runs a program (procs.Start), logging into the sandbox's directory.
func (r *run) start(logName, name string, args ...string) (*exec.Cmd, error) {
	cmd, err := procs.Start(filepath.Join(r.dir, logName), name, args...)
	if err != nil {
		return nil, err
	}
	r.procs = append(r.procs, cmd)
	return cmd, nil
}

// nodeName names node i; the first fifth are Raspberry Pi 4s, the rest x86 servers, and the last
// 30% of the nodes (all x86) are the ones that start hot.
func (r *run) nodeName(i int) string { return fmt.Sprintf("node-%04d", i) }
func (r *run) isPi(i int) bool       { return i < r.n/5 }
func (r *run) startsHot(i int) bool  { return i >= r.n-int(math.Round(float64(r.n)*hotShare)) }

// populate creates the nodes (cordoned unless they start hot) and the background pods.
func (r *run) populate(ctx context.Context) error {
	tmpl, err := os.ReadFile(filepath.Join(r.c.root, "hack/demo/manifests/node.yaml.tmpl"))
	if err != nil {
		return err
	}
	err = parallel(r.n, func(i int) error {
		cpu, mem, arch, kind := "8", "32Gi", "amd64", "x86"
		if r.isPi(i) {
			cpu, mem, arch, kind = "4", "8Gi", "arm64", "rpi4"
		}
		y := strings.NewReplacer("NODE_NAME", r.nodeName(i), "KWOK_PORT", kwokPort, "NODE_CPU", cpu,
			"NODE_MEMORY", mem, "NODE_ARCH", arch, "NODE_KIND", kind).Replace(string(tmpl))
		var node corev1.Node
		if err := yamlToObject(y, &node); err != nil {
			return err
		}
		node.Spec.Unschedulable = !r.startsHot(i)
		// A Node keeps the status it is created with (as a kubelet registers it).
		_, err := r.cs.CoreV1().Nodes().Create(ctx, &node, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("creating nodes: %w", err)
	}
	for i := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("scale-%d", i)}}
		if _, err := r.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := r.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "background"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	err = parallel(r.n*backgroundPerNode, func(j int) error {
		i := j / backgroundPerNode
		req, use := [2]string{"100m", "512Mi"}, [2]string{"60m", "400Mi"}
		if r.isPi(i) {
			req, use = [2]string{"50m", "128Mi"}, [2]string{"30m", "100Mi"}
		}
		p := pod(fmt.Sprintf("bg-%s-%d", r.nodeName(i), j%backgroundPerNode), "background", req, use)
		p.Spec.NodeName = r.nodeName(i)
		_, err := r.cs.CoreV1().Pods("background").Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("creating background pods: %w", err)
	}
	return r.waitPods(ctx, r.n*backgroundPerNode, "background", 15*time.Minute)
}

// pod is a pod with one container, its requests and the usage kwok reports for it.
func pod(name, namespace string, req, use [2]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": name},
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": use[0], "kwok.x-k8s.io/usage-memory": use[1]}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/scale:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(req[0]), corev1.ResourceMemory: resource.MustParse(req[1])}}}}},
	}
}

// waitPods waits until want pods of the namespace ("" for all) run.
func (r *run) waitPods(ctx context.Context, want int, namespace string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running, err := r.countPods(ctx, namespace, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		if err != nil {
			return err
		}
		if running >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods running in %q after %s", running, want, namespace, timeout)
		}
		time.Sleep(3 * time.Second)
	}
}

func (r *run) countPods(ctx context.Context, namespace string, match func(*corev1.Pod) bool) (int, error) {
	n := 0
	opts := metav1.ListOptions{Limit: 5000}
	for {
		l, err := r.cs.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return 0, err
		}
		for i := range l.Items {
			if match(&l.Items[i]) {
				n++
			}
		}
		if l.Continue == "" {
			return n, nil
		}
		opts.Continue = l.Continue
	}
}

// parallel runs f(0..n-1) on 16 workers and returns the first error.
func parallel(n int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// startScheduler starts the rebalancer-scheduler with the repository's configuration.
func (r *run) startScheduler(logName string) (*exec.Cmd, error) {
	cfg, err := os.ReadFile(filepath.Join(r.c.root, "manifests/scheduler/kube-scheduler-config.yaml"))
	if err != nil {
		return nil, err
	}
	cfg = fmt.Appendf(cfg, "clientConnection:\n  kubeconfig: %s\n  qps: 200\n  burst: 400\n", r.kubeconfig)
	if err := os.WriteFile(r.schedulerConfig(), cfg, 0o600); err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(schedulerAddr, ":")
	return r.start(logName, filepath.Join(r.c.bin, "scheduler"), "--config", r.schedulerConfig(),
		"--authentication-kubeconfig", r.kubeconfig, "--authorization-kubeconfig", r.kubeconfig,
		"--bind-address", host, "--secure-port", port, "--authorization-always-allow-paths", "/metrics,/healthz,/readyz,/livez,/debug/pprof/*")
}

func (r *run) schedulerConfig() string { return filepath.Join(r.dir, "scheduler-config.yaml") }

// placeOptedIn creates the opted-in Deployments while the scheduler is not running and measures
// how fast it places them once started.
func (r *run) placeOptedIn(ctx context.Context) (placement, error) {
	total := r.n * optedInPerNode
	deployments := total / replicasPerDeploy
	err := parallel(deployments, func(i int) error {
		_, err := r.cs.AppsV1().Deployments(fmt.Sprintf("scale-%d", i%namespaces)).Create(ctx, optedIn(fmt.Sprintf("web-%d", i)), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return placement{}, fmt.Errorf("creating the opted-in deployments: %w", err)
	}
	want := deployments * replicasPerDeploy
	// Wait until the ReplicaSets created every pod (pending: nothing places them yet).
	deadline := time.Now().Add(10 * time.Minute)
	for {
		n, err := r.countPods(ctx, "", func(p *corev1.Pod) bool { return p.Spec.SchedulerName == "rebalancer-scheduler" })
		if err != nil {
			return placement{}, err
		}
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			return placement{}, fmt.Errorf("only %d of %d opted-in pods created", n, want)
		}
		time.Sleep(2 * time.Second)
	}
	sched, err := r.startScheduler("scheduler.log")
	if err != nil {
		return placement{}, err
	}
	p, _, err := r.measurePlacement(want)
	if err != nil {
		return p, err
	}
	procs.Stop(sched)
	return p, nil
}

// placeProbes uncordons every node, creates one pod a node that only the rebalancer-scheduler
// places, and measures how fast a fresh scheduler places them with every node feasible.
func (r *run) placeProbes(ctx context.Context) (placement, float64, error) {
	err := parallel(r.n, func(i int) error {
		_, err := r.cs.CoreV1().Nodes().Patch(ctx, r.nodeName(i), types.MergePatchType, []byte(`{"spec":{"unschedulable":null}}`), metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return placement{}, 0, err
	}
	if _, err := r.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{}); err != nil {
		return placement{}, 0, err
	}
	err = parallel(r.n, func(i int) error {
		p := pod(fmt.Sprintf("probe-%d", i), "probe", [2]string{"10m", "16Mi"}, [2]string{"1m", "8Mi"})
		p.Spec.SchedulerName = "rebalancer-scheduler"
		_, err := r.cs.CoreV1().Pods("probe").Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return placement{}, 0, err
	}
	if _, err := r.startScheduler("scheduler-probe.log"); err != nil {
		return placement{}, 0, err
	}
	go r.profile("https://"+schedulerAddr+"/debug/pprof/profile?seconds=15", fmt.Sprintf("scheduler-cpu-%d.pprof", r.n))
	return r.measurePlacement(r.n)
}

// measurePlacement polls the running scheduler's metrics until it has scheduled want pods and
// returns the placement rate between its first and last scheduled pod, and its largest RSS.
func (r *run) measurePlacement(want int) (placement, float64, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // our own loopback scheduler
	var first, last time.Time
	var firstCount float64
	var rss float64
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		m, err := scrape(client, "https://"+schedulerAddr+"/metrics")
		if err != nil {
			continue // not serving yet
		}
		rss = max(rss, m.value("process_resident_memory_bytes", nil))
		scheduled := m.value("scheduler_schedule_attempts_total", map[string]string{"result": "scheduled", "profile": "rebalancer-scheduler"})
		now := time.Now()
		if scheduled > 0 && first.IsZero() {
			first, firstCount = now, scheduled
		}
		if scheduled >= float64(want) {
			last = now
			n := scheduled - firstCount
			if n <= 0 || !last.After(first) {
				return placement{}, rss, fmt.Errorf("placement too fast to measure (%v pods in one poll)", scheduled)
			}
			return placement{pods: int(n), seconds: last.Sub(first).Seconds()}, rss, nil
		}
	}
	return placement{}, rss, fmt.Errorf("the scheduler placed fewer than %d pods in 20 minutes", want)
}

// profile saves a pprof profile into the sandbox's directory, retrying while the program starts;
// a profile that cannot be had is logged, not fatal.
func (r *run) profile(url, file string) {
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // our own loopback programs
	var err error
	for range 30 {
		var resp *http.Response
		resp, err = client.Get(url) //nolint:noctx // a loopback URL
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				err = os.WriteFile(filepath.Join(r.dir, file), b, 0o600)
				break
			}
			err = cmp.Or(rerr, fmt.Errorf("%s", resp.Status))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		logf("no profile %s: %v", file, err)
	}
}

// optedIn is a Deployment of opted-in pods placed by the rebalancer-scheduler.
func optedIn(name string) *appsv1.Deployment {
	p := pod(name, "", [2]string{"200m", "1Gi"}, [2]string{"500m", "2Gi"})
	p.Labels = map[string]string{"app": name, "rebalancer": "ok"}
	p.Spec.SchedulerName = "rebalancer-scheduler"
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicasPerDeploy)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: p.Labels, Annotations: p.Annotations}, Spec: p.Spec},
		},
	}
}

// metricsText is one scrape of a Prometheus text endpoint.
type metricsText map[string][]*model.Sample

func scrape(c *http.Client, url string) (metricsText, error) {
	resp, err := c.Get(url) //nolint:noctx // a loopback URL
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	dec := &expfmt.SampleDecoder{Dec: expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeTextPlain)), Opts: &expfmt.DecodeOptions{Timestamp: model.Now()}}
	out := metricsText{}
	for {
		var v model.Vector
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		for _, s := range v {
			name := string(s.Metric[model.MetricNameLabel])
			out[name] = append(out[name], s)
		}
	}
}

// value sums the samples of a metric whose labels include every label given.
func (m metricsText) value(name string, labels map[string]string) float64 {
	var sum float64
	for _, s := range m[name] {
		ok := true
		for k, v := range labels {
			if string(s.Metric[model.LabelName(k)]) != v {
				ok = false
			}
		}
		if ok {
			sum += float64(s.Value)
		}
	}
	return sum
}

// runEvictor starts the evictor as its own ServiceAccount, applies the live policy and samples it
// until duration after its first plan.
func (r *run) runEvictor(ctx context.Context, res *result) error {
	kubeconfig, err := r.evictorKubeconfig(ctx)
	if err != nil {
		return err
	}
	policy := strings.Replace(mustRead(filepath.Join(r.c.root, "hack/demo/manifests/policy.yaml")), "interval: 15s", "interval: 10s", 1)
	policyFile := filepath.Join(r.dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		return err
	}
	if err := r.kubectl("apply", "-f", policyFile); err != nil {
		return err
	}
	logPath := filepath.Join(r.dir, "evictor.log")
	started := time.Now()
	if _, err := r.start("evictor.log", filepath.Join(r.c.bin, "evictor"), "--kubeconfig", kubeconfig,
		"--metrics-bind-address", evictorAddr, "--health-probe-bind-address", probeAddr,
		"--scheduler-config", r.schedulerConfig(), "--zap-log-level=1", "--zap-encoder=json", "--pprof-bind-address", pprofAddr); err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var end time.Time
	for {
		time.Sleep(time.Second)
		m, err := scrape(client, "http://"+evictorAddr+"/metrics")
		if err != nil {
			if time.Since(started) > 10*time.Minute {
				return fmt.Errorf("the evictor's metrics did not answer in 10 minutes: %w", err)
			}
			continue
		}
		res.evictorRSS = max(res.evictorRSS, m.value("process_resident_memory_bytes", nil))
		res.heap = max(res.heap, m.value("go_memstats_heap_inuse_bytes", nil))
		if res.firstPlan == 0 && m.value("rebalancer_plan_duration_seconds_count", nil) > 0 {
			res.firstPlan = time.Since(started)
			end = time.Now().Add(r.c.duration)
			// Profiles for whoever reads the figures: 30s of CPU now, the heap at the end.
			go r.profile("http://"+pprofAddr+"/debug/pprof/profile?seconds=30", fmt.Sprintf("evictor-cpu-%d.pprof", r.n))
			logf("%d nodes: the evictor's first plan after %s", r.n, res.firstPlan.Round(100*time.Millisecond))
		}
		if res.firstPlan == 0 && time.Since(started) > 10*time.Minute {
			return fmt.Errorf("no plan in 10 minutes (see %s)", logPath)
		}
		if !end.IsZero() && time.Now().After(end) {
			r.profile("http://"+pprofAddr+"/debug/pprof/heap", fmt.Sprintf("evictor-heap-%d.pprof", r.n))
			res.evictions = int(m.value("rebalancer_evictions_total", nil))
			res.window = time.Since(started) - res.firstPlan
			break
		}
	}
	cycles, parts, err := readCycles(logPath)
	if err != nil {
		return err
	}
	if len(cycles) == 0 {
		return fmt.Errorf("no \"Cycle done\" line in %s", logPath)
	}
	res.cycles, res.parts, res.plans = cycles, parts, parts["planSeconds"]
	return nil
}

// evictorKubeconfig applies the chart's ServiceAccounts and RBAC (manifests/install, rendered
// from it) and writes a kubeconfig with a token of the evictor's ServiceAccount.
func (r *run) evictorKubeconfig(ctx context.Context) (string, error) {
	if err := r.kubectl("apply", "-f", filepath.Join(r.c.root, "manifests/install/namespace.yaml")); err != nil {
		return "", err
	}
	var rbac []string
	for _, doc := range strings.Split(mustRead(filepath.Join(r.c.root, "manifests/install/rebalancer.yaml")), "\n---") {
		for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
			if strings.Contains(doc, "\nkind: "+kind+"\n") {
				rbac = append(rbac, doc)
			}
		}
	}
	rbacFile := filepath.Join(r.dir, "rbac.yaml")
	if err := os.WriteFile(rbacFile, []byte(strings.Join(rbac, "\n---")), 0o600); err != nil {
		return "", err
	}
	if err := r.kubectl("apply", "-f", rbacFile); err != nil {
		return "", err
	}
	tok, err := r.cs.CoreV1().ServiceAccounts(releaseNS).CreateToken(ctx, evictorSA,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(6 * 3600))}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("a token for %s: %w", evictorSA, err)
	}
	raw, err := clientcmd.LoadFromFile(r.kubeconfig)
	if err != nil {
		return "", err
	}
	cluster := raw.Clusters[raw.Contexts[raw.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["scale"] = cluster
	cfg.AuthInfos["evictor"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["evictor"] = &clientcmdapi.Context{Cluster: "scale", AuthInfo: "evictor"}
	cfg.CurrentContext = "evictor"
	path := filepath.Join(r.dir, "evictor.kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	return string(b)
}

// phases are the parts of a cycle the evictor's "Cycle done" line times, in its order.
var phases = []string{"cacheSeconds", "readSeconds", "planSeconds", "evictSeconds", "statusSeconds"}

// readCycles returns each cycle's time, and the time of each of its phases, from the evictor's
// JSON log.
func readCycles(path string) (cycles []float64, parts map[string][]float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	parts = map[string][]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "Cycle done" {
			continue
		}
		c, ok := line["cycleSeconds"].(float64)
		if !ok {
			continue
		}
		cycles = append(cycles, c)
		for _, ph := range phases {
			v, _ := line[ph].(float64)
			parts[ph] = append(parts[ph], v)
		}
	}
	return cycles, parts, sc.Err()
}

// apiUse is what the audit log recorded of one user's requests.
type apiUse struct {
	total, inWindow int
	byVerb          map[string]int // verb resource, over the whole run
	// watches opened before the first plan (the informers starting), and after it (restarts).
	startWatches, restarts int
}

// readAudit counts the user's requests in the audit log, in all and from the first plan on.
func readAudit(path, user string, res *result) (apiUse, error) {
	f, err := os.Open(path)
	if err != nil {
		return apiUse{}, err
	}
	defer f.Close()
	u := apiUse{byVerb: map[string]int{}}
	seen := map[string]bool{}
	var firstRequest time.Time
	var times []time.Time
	var watch []bool
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev struct {
			AuditID string `json:"auditID"`
			Verb    string `json:"verb"`
			User    struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef *struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
				APIGroup    string `json:"apiGroup"`
			} `json:"objectRef"`
			RequestURI string    `json:"requestURI"`
			Received   time.Time `json:"requestReceivedTimestamp"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.User.Username != user || seen[ev.AuditID] {
			continue
		}
		seen[ev.AuditID] = true
		what := ev.RequestURI
		if ev.ObjectRef != nil {
			what = ev.ObjectRef.Resource
			if ev.ObjectRef.Subresource != "" {
				what += "/" + ev.ObjectRef.Subresource
			}
			if ev.ObjectRef.APIGroup != "" {
				what += "." + ev.ObjectRef.APIGroup
			}
		}
		u.total++
		u.byVerb[ev.Verb+" "+what]++
		if firstRequest.IsZero() || ev.Received.Before(firstRequest) {
			firstRequest = ev.Received
		}
		times = append(times, ev.Received)
		watch = append(watch, ev.Verb == "watch")
	}
	if err := sc.Err(); err != nil {
		return u, err
	}
	if u.total == 0 {
		return u, fmt.Errorf("no request of %s in %s", user, path)
	}
	// The steady window: from the first plan (counted from the first request, which comes right
	// after the process starts) to the end of the run.
	from := firstRequest.Add(res.firstPlan)
	for i, t := range times {
		switch {
		case !t.Before(from):
			u.inWindow++
			if watch[i] {
				u.restarts++
			}
		case watch[i]:
			u.startWatches++
		}
	}
	return u, nil
}

// quantile is the q-quantile of xs by the nearest-rank method.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}
