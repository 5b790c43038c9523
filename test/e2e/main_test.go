//go:build e2e

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/test/procs"
)

// The sandbox's fixed loopback ports, apart from the demo's so that both can run at once.
const (
	clusterName   = "rebalancer-e2e"
	apiserverPort = "37443"
	kwokPort      = "37247"
	evictorAddr   = "127.0.0.1:37080"
	probeAddr     = "127.0.0.1:37081"
	schedulerAddr = "127.0.0.1:37259"
	// schedulerLease is the rebalancer-scheduler's leader Lease (manifests/scheduler).
	schedulerLease = "kube-system/rebalancer-scheduler"
)

// The simulated nodes: three x86 servers (8 CPU, 32Gi) and two Raspberry Pi 4s (arm64, 4 CPU, 8Gi).
var (
	x86Nodes = []string{"x86-1", "x86-2", "x86-3"}
	armNodes = []string{"arm-1", "arm-2"}
)

// env is the running sandbox, shared by every test (they run one after another).
var env struct {
	root, bin, kubeconfig string
	c                     client.Client
	procs                 []*exec.Cmd
	// startScheduler starts the rebalancer-scheduler process (again, after a test stopped it);
	// scheduler is the running one.
	startScheduler func() error
	scheduler      *exec.Cmd
	// startEvictor starts the evictor process (again, after a test killed it); evictor is the
	// running one.
	startEvictor func() error
	evictor      *exec.Cmd
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setting up the sandbox:", err)
		tearDown()
		return 1
	}
	code := m.Run()
	tearDown()
	return code
}

func setUp() error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	env.root = root
	env.bin = os.Getenv("REBALANCER_BIN")
	if env.bin == "" {
		env.bin = filepath.Join(root, "bin")
	}
	for _, b := range []string{"kwok", "kwokctl", "metrics-server", "scheduler", "evictor", "controlplane/kubectl", "controlplane/kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(env.bin, b)); err != nil {
			return fmt.Errorf("missing %s: run make e2e (it builds every binary): %w", b, err)
		}
	}
	out, err := sandbox("up", clusterName, apiserverPort, kwokPort)
	if err != nil {
		return err
	}
	env.kubeconfig = strings.TrimSpace(out)
	if err := kubectl("apply", "-f", filepath.Join(root, "manifests/crds")); err != nil {
		return err
	}
	if err := kubectl("wait", "--for", "condition=Established", "--timeout", "60s", "crd", "--all"); err != nil {
		return err
	}
	for _, n := range x86Nodes {
		if _, err := sandbox("node", clusterName, "x86", n); err != nil {
			return err
		}
	}
	for _, n := range armNodes {
		if _, err := sandbox("node", clusterName, "rpi4", n); err != nil {
			return err
		}
	}
	if err := kubectl("wait", "--for", "condition=Ready", "--timeout", "120s", "node", "--all"); err != nil {
		return err
	}
	// A small pod on every node: metrics-server reports no usage for a node without pods.
	if err := kubectl("apply", "-f", filepath.Join(root, "hack/demo/manifests/node-agent.yaml")); err != nil {
		return err
	}
	if err := kubectl("-n", "infra", "rollout", "status", "daemonset/node-agent", "--timeout", "120s"); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if env.c, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}

	logs := filepath.Join(env.bin, "sandbox", clusterName)
	host, port, _ := strings.Cut(schedulerAddr, ":")
	// With --config, kube-scheduler reads its kubeconfig from clientConnection, not from --kubeconfig.
	schedCfg, err := os.ReadFile(filepath.Join(root, "manifests/scheduler/kube-scheduler-config.yaml"))
	if err != nil {
		return err
	}
	schedCfg = fmt.Appendf(schedCfg, "clientConnection:\n  kubeconfig: %s\n", env.kubeconfig)
	if err := os.WriteFile(filepath.Join(logs, "scheduler-config.yaml"), schedCfg, 0o600); err != nil {
		return err
	}
	env.startScheduler = func() error {
		log := "scheduler.log"
		if env.scheduler != nil {
			log = "scheduler-restarted.log"
		}
		err := start(filepath.Join(logs, log), filepath.Join(env.bin, "scheduler"),
			"--config", filepath.Join(logs, "scheduler-config.yaml"), "--authentication-kubeconfig", env.kubeconfig, "--authorization-kubeconfig", env.kubeconfig,
			"--bind-address", host, "--secure-port", port, "--authorization-always-allow-paths", "/metrics,/healthz,/readyz,/livez")
		if err == nil {
			env.scheduler = env.procs[len(env.procs)-1]
		}
		return err
	}
	if err := env.startScheduler(); err != nil {
		return err
	}
	// The evictor confirms moves with the scheduler's own configuration and checks the
	// scheduler's leader Lease before it evicts a pod the scheduler places, as the chart wires it.
	env.startEvictor = func() error {
		log := "evictor.log"
		if env.evictor != nil {
			log = "evictor-restarted.log"
		}
		err := start(filepath.Join(logs, log), filepath.Join(env.bin, "evictor"),
			"--kubeconfig", env.kubeconfig, "--metrics-bind-address", evictorAddr, "--health-probe-bind-address", probeAddr,
			"--scheduler-config", filepath.Join(logs, "scheduler-config.yaml"), "--scheduler-lease", schedulerLease)
		if err == nil {
			env.evictor = env.procs[len(env.procs)-1]
		}
		return err
	}
	if err := env.startEvictor(); err != nil {
		return err
	}
	return waitHTTP("http://"+probeAddr+"/readyz", time.Minute)
}

// start runs a program in its own process group, so that tearDown stops all of it.
func start(logPath, name string, args ...string) error {
	cmd, err := procs.Start(logPath, name, args...)
	if err != nil {
		return err
	}
	env.procs = append(env.procs, cmd)
	return nil
}

func tearDown() {
	for _, p := range env.procs {
		procs.Stop(p)
	}
	if _, err := sandbox("down", clusterName); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: deleting the sandbox:", err)
	}
}

func sandbox(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(env.root, "hack/demo/sandbox.sh"), args...)
	cmd.Env = append(os.Environ(), "REBALANCER_BIN="+env.bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sandbox.sh %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

func kubectl(args ...string) error {
	out, err := exec.Command(filepath.Join(env.bin, "controlplane/kubectl"), append([]string{"--kubeconfig", env.kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func waitHTTP(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready after %s", url, timeout), err)
		case <-time.After(time.Second):
		}
	}
}
