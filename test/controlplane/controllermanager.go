package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControllerManager is a running kube-controller-manager.
type ControllerManager struct {
	cmd    *exec.Cmd
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	// exit is the process's exit error, set before done closes.
	exit error
}

// StartControllerManager runs the built kube-controller-manager against the control plane with
// the given controllers (for example "disruption", which computes PodDisruptionBudget status).
// Its output goes to a log file in the returned manager's directory.
func (e *Env) StartControllerManager(controllers ...string) (*ControllerManager, error) {
	bin := filepath.Join(BinDir(), "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kube-controller-manager not found in %s (run `make controlplane`): %w", BinDir(), err)
	}
	user, err := e.env.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding a user for kube-controller-manager: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kcm-")
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{
		"--kubeconfig=" + kc,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + join(controllers),
		"--v=1",
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cm := &ControllerManager{cmd: cmd, dir: dir, cancel: cancel, done: make(chan struct{})}
	go func() { cm.exit = cmd.Wait(); _ = logf.Close(); close(cm.done) }()
	select {
	case <-cm.done:
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("kube-controller-manager exited at start: %w\n%s", cm.exit, tail(log, 3000))
	case <-time.After(2 * time.Second):
	}
	return cm, nil
}

// Stop stops the controller manager and removes its files.
func (c *ControllerManager) Stop() {
	c.cancel()
	<-c.done // killed on purpose: its exit status says nothing
	_ = os.RemoveAll(c.dir)
}

// Log returns the end of the controller manager's log.
func (c *ControllerManager) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "kube-controller-manager.log"))
	return tail(b, 5000)
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
