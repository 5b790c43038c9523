// Package scheduler tests the Rebalancer's scheduler in-process (kube-scheduler's app.Setup and
// app.Run with the RebalancerNodeClassFit plugin, configured from manifests/scheduler) against the
// real kube-apiserver and etcd that test/controlplane starts with the Rebalancer's CRDs.
package scheduler

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/klog/v2"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// env is the real kube-apiserver shared by the tests and benchmarks of this package.
var env *controlplane.Env

// EnvLogVerbosity sets the in-process scheduler's log verbosity (klog -v), for debugging.
const EnvLogVerbosity = "REBALANCER_TEST_V"

func TestMain(m *testing.M) {
	if v := os.Getenv(EnvLogVerbosity); v != "" {
		fs := flag.NewFlagSet("klog", flag.ExitOnError)
		klog.InitFlags(fs)
		if err := fs.Set("v", v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(controlplane.Run(m, func(e *controlplane.Env) (func(int), error) {
		env = e
		return nil, nil
	}))
}
