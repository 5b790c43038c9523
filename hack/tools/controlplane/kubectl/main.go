// Command kubectl is the upstream CLI, built from the pinned Kubernetes release so that a fresh
// machine needs no downloaded binary; the sandbox (hack/demo) and kwokctl use it.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
