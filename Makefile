# The Rebalancer's build. Every tool and every binary a test needs is built here from pinned
# sources (hack/tools, hack/tools/controlplane); nothing is downloaded as a prebuilt binary.

SHELL := /usr/bin/env bash -o pipefail -o errexit
.DEFAULT_GOAL := build

BIN          := $(CURDIR)/bin
CONTROLPLANE := $(BIN)/controlplane
K8S_VERSION  := v1.37.2
GO_TEST_FLAGS ?=

# Tools pinned in hack/tools/go.mod, built and cached by `go tool`.
TOOL           := go tool -modfile=$(CURDIR)/hack/tools/go.mod
CONTROLLER_GEN := $(TOOL) controller-gen
GOLANGCI_LINT  := $(TOOL) golangci-lint

# The control plane is rebuilt only when its pin (go.mod/go.sum) or its main packages change.
CONTROLPLANE_SRC := $(wildcard hack/tools/controlplane/go.* hack/tools/controlplane/*/main.go)
CONTROLPLANE_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build every package of the product
	go build ./...

.PHONY: generate
generate: ## Regenerate deepcopy code and CRD manifests from apis/
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./apis/...
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./apis/... output:crd:artifacts:config=manifests/crds

.PHONY: verify-generate
verify-generate: generate ## Fail when generated files differ from what is committed
	@git diff --exit-code -- apis manifests || { echo "Generated files are stale: run 'make generate' and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- apis manifests)" || { git status --porcelain -- apis manifests; echo "Untracked generated files: run 'make generate' and commit the result" >&2; exit 1; }

.PHONY: controlplane
controlplane: $(CONTROLPLANE)/.built-$(K8S_VERSION) ## Build kube-apiserver, etcd and kube-controller-manager into bin/controlplane

$(CONTROLPLANE)/.built-$(K8S_VERSION): $(CONTROLPLANE_SRC)
	@mkdir -p $(CONTROLPLANE)
	@echo "Building the control plane $(K8S_VERSION) into $(CONTROLPLANE) (first build takes several minutes)"
	cd hack/tools/controlplane && go build -trimpath -ldflags "$(CONTROLPLANE_LDFLAGS)" -o $(CONTROLPLANE)/ ./kube-apiserver ./etcd ./kube-controller-manager
	@rm -f $(CONTROLPLANE)/.built-*
	@touch $@

.PHONY: tools
tools: controlplane ## Build every pinned tool
	$(CONTROLLER_GEN) --version
	$(GOLANGCI_LINT) version

# Debian's Chromium, for the dashboard's end-to-end test (root on these machines; apt is reachable).
CHROMIUM := /usr/bin/chromium

.PHONY: chromium
chromium: ## Install Debian's chromium for the browser test, when missing
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the dashboard test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

.PHONY: test
test: controlplane chromium ## Run all tests, including those against the real API server, and the race detector over the controller
	REBALANCER_CONTROLPLANE=$(CONTROLPLANE) go test $(GO_TEST_FLAGS) ./...
	REBALANCER_CONTROLPLANE=$(CONTROLPLANE) go test -race $(GO_TEST_FLAGS) ./evictor/... ./test/evictor/...

.PHONY: bench
bench: ## Run the Go benchmarks of the planner, scoring and cache transform (ratios against baselines in the same run)
	go test -run '^$$' -bench 'BenchmarkPlan|BenchmarkSnapshotScan|BenchmarkPlacementScore' -benchmem -cpu 1 ./evictor/planner/ ./pkg/scoring/
	go test -run '^$$' -bench 'BenchmarkCachedPodHeap' -benchtime 1x ./evictor/

.PHONY: mutation-check
mutation-check: ## Disable each eligibility predicate in turn and check a test fails
	hack/mutation-check.sh

.PHONY: lint
lint: ## Run golangci-lint (pinned in hack/tools)
	$(GOLANGCI_LINT) run ./...

.PHONY: clean
clean: ## Remove built binaries
	rm -rf $(BIN)

.PHONY: fmt
fmt: ## Format the code (gofmt, goimports with local imports last)
	$(GOLANGCI_LINT) fmt ./...

.PHONY: decision-bench
decision-bench: ## Run the decision-quality benchmark (Rebalancer vs descheduler vs lower bound) and write docs/
	cd test/bench && go run . -out ../../docs
