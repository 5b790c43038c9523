// Command scheduler is the Rebalancer's secondary scheduler: kube-scheduler with the
// RebalancerNodeClassFit Score plugin registered. Every kube-scheduler flag, the configuration
// file, leader election and the health and metrics endpoints work as in kube-scheduler;
// manifests/scheduler holds a configuration with the rebalancer-scheduler profile.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/tinorodney/rebalancer/plugins/nodeclassfit"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(nodeclassfit.Name, nodeclassfit.New))
	os.Exit(cli.Run(command))
}
