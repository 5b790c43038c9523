// Command rebalancer answers "what would the Rebalancer do to my cluster?", read live (read-only)
// or from a dump:
//
//	rebalancer plan [--context NAME | --dump DIR] [--policy NAME] [-o table|json|yaml] [--first-cycle]
//	rebalancer simulate [--context NAME | --dump DIR] --cycles N [--noise 0.05] [--seed 1] [--moves]
//	rebalancer dump DIR
//	rebalancer version
//
// Installed as kubectl-rebalancer on the PATH, it is `kubectl rebalancer plan`.
package main

import (
	"os"
	"time"

	"github.com/tinorodney/rebalancer/cmd/rebalancer/app"
)

func main() {
	os.Exit(app.Main(os.Args, os.Stdout, os.Stderr, time.Now()))
}
