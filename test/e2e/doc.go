// Package e2e runs the testing playbook against the demo sandbox (hack/demo/sandbox.sh): a kwok
// cluster built from pinned sources, metrics-server reading kwok's simulated usage, and the
// scheduler and evictor running as the processes a user runs. `make e2e` builds what it needs and
// runs it (the tests carry the build tag e2e, so `go test ./...` and `make test` leave them out);
// they fail, never skip, when a binary is missing.
package e2e
