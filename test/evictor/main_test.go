// Package evictor_test runs the evictor against the real kube-apiserver and etcd, with the real
// kube-controller-manager's disruption controller computing PodDisruptionBudget status. Usage comes
// from a fixed source at the pkg/usage interface.
package evictor_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

var (
	env *controlplane.Env
	kcm *controlplane.ControllerManager
)

func TestMain(m *testing.M) {
	var err error
	env, err = controlplane.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kcm, err = env.StartControllerManager("disruption")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "kube-controller-manager log:\n"+kcm.Log())
	}
	kcm.Stop()
	_ = env.Stop()
	os.Exit(code)
}
