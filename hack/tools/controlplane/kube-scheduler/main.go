// Command kube-scheduler is the upstream scheduler, built from the pinned Kubernetes release; the
// sandbox (hack/demo) runs it as the cluster's default scheduler.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
