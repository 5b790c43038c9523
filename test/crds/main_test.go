package crds

import (
	"os"
	"testing"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// env is the real kube-apiserver shared by the tests of this package.
var env *controlplane.Env

func TestMain(m *testing.M) {
	os.Exit(controlplane.Run(m, func(e *controlplane.Env) (func(int), error) {
		env = e
		return nil, nil
	}))
}
