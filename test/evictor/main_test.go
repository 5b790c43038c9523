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
	os.Exit(controlplane.Run(m, func(e *controlplane.Env) (func(int), error) {
		env = e
		var err error
		if kcm, err = env.StartControllerManager("disruption"); err != nil {
			return nil, err
		}
		return func(code int) {
			if code != 0 {
				fmt.Fprintln(os.Stderr, "kube-controller-manager log:\n"+kcm.Log())
			}
			kcm.Stop()
		}, nil
	}))
}
