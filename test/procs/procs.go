// Package procs starts and stops the programs the sandbox runs (the scheduler, the evictor) as a
// user runs them, for the e2e tests and the scale run.
package procs

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Start runs name in a process group of its own, its output going to logPath.
func Start(logPath, name string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return cmd, nil
}

// Stop sends SIGTERM to the process's group, SIGKILL after 10s, and waits for it. A process
// already waited for is left alone.
func Stop(p *exec.Cmd) {
	if p.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
