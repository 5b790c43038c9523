// Command scheduler is the Rebalancer's secondary scheduler: kube-scheduler with the
// RebalancerNodeClassFit Score plugin registered. Every kube-scheduler flag, the configuration
// file, leader election and the health and metrics endpoints work as in kube-scheduler;
// manifests/scheduler holds a configuration with the rebalancer-scheduler profile.
package main

import (
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/tinorodney/rebalancer/pkg/memlimit"
	"github.com/tinorodney/rebalancer/plugins/nodeclassfit"
)

func main() {
	// A soft memory limit below the container's (pkg/memlimit): the scheduler caches every pod.
	if _, err := memlimit.Set("/sys/fs/cgroup"); err != nil {
		fmt.Fprintln(os.Stderr, "Reading the container's memory limit; the Go runtime has none:", err)
	}
	command := app.NewSchedulerCommand(app.WithPlugin(nodeclassfit.Name, nodeclassfit.New))
	os.Exit(cli.Run(command))
}
