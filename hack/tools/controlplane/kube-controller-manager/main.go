// Command kube-controller-manager is the upstream controller manager, built from the pinned
// Kubernetes release; the tests use its disruption controller to compute real PDB status.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
