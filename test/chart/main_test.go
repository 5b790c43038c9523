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
	var err error
	env, err = controlplane.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping control plane:", err)
	}
	os.Exit(code)
}
