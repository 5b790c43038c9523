package chart

import (
	"fmt"
	"os"
	"testing"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// env is the real kube-apiserver shared by the tests of this package.
var env *controlplane.Env

func TestMain(m *testing.M) {
	if _, err := findHelm(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(controlplane.Run(m, func(e *controlplane.Env) (func(int), error) {
		env = e
		return nil, nil
	}))
}
