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
generate: ## Regenerate deepcopy code and CRDs from apis/, the chart's CRDs and manifests/install from the chart
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./apis/...
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./apis/... output:crd:artifacts:config=manifests/crds
	$(MAKE) --no-print-directory install-manifests

.PHONY: verify-generate
verify-generate: generate ## Fail when generated files differ from what is committed
	@git diff --exit-code -- apis manifests charts || { echo "Generated files are stale: run 'make generate' and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- apis manifests charts)" || { git status --porcelain -- apis manifests charts; echo "Untracked generated files: run 'make generate' and commit the result" >&2; exit 1; }

.PHONY: controlplane
controlplane: $(CONTROLPLANE)/.built-$(K8S_VERSION) ## Build kube-apiserver, etcd, kube-controller-manager, kube-scheduler and kubectl into bin/controlplane

$(CONTROLPLANE)/.built-$(K8S_VERSION): $(CONTROLPLANE_SRC)
	@mkdir -p $(CONTROLPLANE)
	@echo "Building the control plane $(K8S_VERSION) into $(CONTROLPLANE) (first build takes several minutes)"
	cd hack/tools/controlplane && go build -trimpath -ldflags "$(CONTROLPLANE_LDFLAGS)" -o $(CONTROLPLANE)/ ./kube-apiserver ./etcd ./kube-controller-manager ./kube-scheduler ./kubectl
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

# Debian's Prometheus, for the tests that scrape the evictor and read usage through a real server.
PROMETHEUS := /usr/bin/prometheus

.PHONY: prometheus
prometheus: ## Install Debian's prometheus for the Prometheus tests, when missing
	@test -x $(PROMETHEUS) || { echo "Installing Debian's prometheus for the Prometheus tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

.PHONY: test
test: controlplane chromium prometheus helm ## Run all tests, including those against the real API server, and the race detector over the controller
	go test $(GO_TEST_FLAGS) ./...
	go test -race $(GO_TEST_FLAGS) ./evictor/...
	cd test && REBALANCER_CONTROLPLANE=$(CONTROLPLANE) go test $(GO_TEST_FLAGS) ./...
	cd test && REBALANCER_CONTROLPLANE=$(CONTROLPLANE) go test -race $(GO_TEST_FLAGS) ./evictor/...
	cd test/bench && go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: ## Run the Go benchmarks of the planner, the placement engine, scoring and cache transform (ratios against baselines in the same run)
	go test -run '^$$' -bench 'BenchmarkPlan|BenchmarkSnapshotScan|BenchmarkPlacementScore' -benchmem -cpu 1 ./evictor/planner/ ./pkg/scoring/
	go test -run '^$$' -bench 'BenchmarkPredict|BenchmarkOpen|BenchmarkHandModel' -benchmem -cpu 1 ./pkg/placement/
	go test -run '^$$' -bench 'BenchmarkCachedPodHeap' -benchtime 1x ./evictor/
	go test -run '^$$' -bench 'BenchmarkPodTransform' -benchmem ./evictor/

.PHONY: mutation-check
mutation-check: ## Disable each eligibility predicate in turn and check a test fails
	hack/mutation-check.sh

.PHONY: lint
lint: ## Run golangci-lint (pinned in hack/tools) over the product, the test module and the benchmark module
	$(GOLANGCI_LINT) run ./...
	cd test && $(GOLANGCI_LINT) run ./... && $(GOLANGCI_LINT) run --build-tags e2e ./e2e/...
	cd test/bench && $(GOLANGCI_LINT) run ./...

.PHONY: clean
clean: ## Remove built binaries
	rm -rf $(BIN)

.PHONY: fmt
fmt: ## Format the code (gofmt, goimports with local imports last)
	$(GOLANGCI_LINT) fmt ./...

# How many clusters the decision benchmark simulates at once. Each run is seeded, so the
# Rebalancer's figures do not depend on it (descheduler's differ from run to run in any case).
BENCH_PARALLEL ?= 2

.PHONY: decision-bench
decision-bench: ## Run the decision-quality benchmark (Rebalancer vs descheduler vs lower bound) and write docs/
	cd test/bench && go run . -parallel $(BENCH_PARALLEL) -out ../../docs

.PHONY: decision-bench-quick
decision-bench-quick: ## The decision-quality benchmark on the 20- and 200-node clusters only, into docs/
	cd test/bench && go run . -quick -parallel $(BENCH_PARALLEL) -out ../../docs

# ---- Shipping: the Helm chart, plain manifests and images (issue 6) --------------------------------

# Helm, pinned in its own tools module (its Kubernetes libraries differ from ours). The version and
# the Kubernetes version it assumes for `helm template` and `helm lint` come from that go.mod.
HELM           := $(BIN)/helm
HELM_MOD       := hack/tools/helm
HELM_VERSION    = $(shell awk '$$1 == "helm.sh/helm/v3" {print $$2}' $(HELM_MOD)/go.mod)
HELM_K8S_MINOR  = $(shell awk '$$1 == "k8s.io/client-go" {split($$2, v, "."); print v[2]}' $(HELM_MOD)/go.mod)
HELM_LDFLAGS    = -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)

# test/chart finds helm here (or in bin/helm when run without make).
test: export REBALANCER_HELM = $(HELM)

.PHONY: helm
helm: $(HELM) ## Build the pinned helm CLI (hack/tools/helm) into bin/helm

$(HELM): $(HELM_MOD)/go.mod $(HELM_MOD)/go.sum
	@mkdir -p $(BIN)
	cd $(HELM_MOD) && go build -trimpath -ldflags "$(HELM_LDFLAGS)" -o $(HELM) helm.sh/helm/v3/cmd/helm

CHART             := charts/rebalancer
INSTALL_DIR       := manifests/install
INSTALL_RELEASE   := rebalancer
INSTALL_NAMESPACE := rebalancer-system
INSTALL_HEADER    := \# Generated by make install-manifests from $(CHART) with its default values; do not edit.

.PHONY: chart-crds
chart-crds: ## Copy manifests/crds into the chart's crds/ and the rebalancer-crds chart (test/chart fails when they differ)
	rm -f $(CHART)/crds/*.yaml $(CHART)-crds/files/*.yaml
	cp manifests/crds/*.yaml $(CHART)/crds/
	cp manifests/crds/*.yaml $(CHART)-crds/files/

.PHONY: install-manifests
install-manifests: chart-crds helm ## Render manifests/install/ from the chart (release rebalancer in rebalancer-system)
	@mkdir -p $(INSTALL_DIR)
	{ echo '$(INSTALL_HEADER)'; $(HELM) show crds $(CHART); } > $(INSTALL_DIR)/crds.yaml
	{ echo '$(INSTALL_HEADER)'; $(HELM) template $(INSTALL_RELEASE) $(CHART) --namespace $(INSTALL_NAMESPACE) --skip-tests; } > $(INSTALL_DIR)/rebalancer.yaml

# The images' build: Dockerfile.evictor and Dockerfile.scheduler run the same go build (test/chart
# compares them with `make -n cross`). `make cross CROSS_BINARIES=evictor` builds one binary.
# The version (the chart's appVersion) and the commit are stamped into both binaries
# (pkg/version: rebalancer_build_info, `version` subcommands); the Dockerfiles take them as build
# arguments VERSION and REVISION (the Jenkinsfile passes them to Kaniko).
VERSION        ?= $(shell awk -F'"' '/^appVersion:/ {print $$2}' $(CHART)/Chart.yaml)
REVISION       ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG    := github.com/tinorodney/rebalancer/pkg/version
GO_BUILD_FLAGS  = -trimpath -ldflags="-s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION)"
CROSS_PLATFORMS := linux/amd64 linux/arm64
CROSS_BINARIES  := evictor scheduler

define CROSS_BUILD
	CGO_ENABLED=0 GOOS=$(word 1,$(subst /, ,$(1))) GOARCH=$(word 2,$(subst /, ,$(1))) go build $(GO_BUILD_FLAGS) -o $(BIN)/cross/$(subst /,_,$(1))/$(2) ./cmd/$(2)

endef

.PHONY: cross
cross: ## Cross-compile the binaries (CGO_ENABLED=0) for linux/amd64 and linux/arm64 into bin/cross/
	$(foreach p,$(CROSS_PLATFORMS),$(foreach b,$(CROSS_BINARIES),$(call CROSS_BUILD,$(p),$(b))))

# ---- The demo sandbox and the e2e playbook (issue 9) -------------------------------------------------

# kwok/kwokctl and metrics-server, each pinned in its own tools module (their Kubernetes libraries
# differ from ours and from each other's), built from the module proxy; kube-scheduler and kubectl
# come from the control plane above. Each binary is rebuilt only when its module's pin changes.
KWOK_MOD           := hack/tools/kwok
METRICS_SERVER_MOD := hack/tools/metricsserver
KWOK_VERSION        = $(shell awk '$$1 == "sigs.k8s.io/kwok" {print $$2}' $(KWOK_MOD)/go.mod)
METRICS_SERVER_VERSION = $(shell awk '$$1 == "sigs.k8s.io/metrics-server" {print $$2}' $(METRICS_SERVER_MOD)/go.mod)
KWOK           := $(BIN)/kwok
KWOKCTL        := $(BIN)/kwokctl
METRICS_SERVER := $(BIN)/metrics-server

.PHONY: kwok
kwok: $(KWOK) $(KWOKCTL) ## Build the pinned kwok and kwokctl (hack/tools/kwok) into bin/

$(KWOK) $(KWOKCTL) &: $(KWOK_MOD)/go.mod $(KWOK_MOD)/go.sum
	@mkdir -p $(BIN)
	cd $(KWOK_MOD) && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$(KWOK_VERSION) -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$(K8S_VERSION)" \
		-o $(BIN)/ sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
	@touch $(KWOK) $(KWOKCTL)

.PHONY: metrics-server
metrics-server: $(METRICS_SERVER) ## Build the pinned metrics-server (hack/tools/metricsserver) into bin/

$(METRICS_SERVER): $(METRICS_SERVER_MOD)/go.mod $(METRICS_SERVER_MOD)/go.sum
	@mkdir -p $(BIN)
	cd $(METRICS_SERVER_MOD) && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$(METRICS_SERVER_VERSION)" \
		-o $(METRICS_SERVER) sigs.k8s.io/metrics-server/cmd/metrics-server
	@touch $@

# Our two programs, as a user runs them against the sandbox (go build skips them when unchanged).
.PHONY: demo-binaries
demo-binaries:
	@mkdir -p $(BIN)
	go build -ldflags="-X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION)" -o $(BIN)/ ./cmd/evictor ./cmd/scheduler
	go build -o $(BIN)/demo-watch ./hack/demo/watch

.PHONY: sandbox-tools
sandbox-tools: controlplane kwok metrics-server demo-binaries ## Build everything the sandbox and the demo run

# The scale run (test/scale): the sandbox at each size of SCALE_SIZES nodes with 30 pods a node,
# both programs live; writes docs/scale.md. About 10 minutes at 1,000 nodes on 2 cores.
SCALE_SIZES ?= 300,1000
SCALE_DURATION ?= 5m
.PHONY: scale
scale: sandbox-tools ## Run the Rebalancer at scale on the sandbox (SCALE_SIZES nodes, 30 pods a node) and write docs/scale.md
	cd test && REBALANCER_BIN=$(BIN) go run ./scale -sizes $(SCALE_SIZES) -duration $(SCALE_DURATION)

.PHONY: demo
demo: sandbox-tools ## Run the Rebalancer on a local simulated cluster (kwok); Ctrl-C stops everything
	hack/demo/demo.sh

# ss (iproute2) for the e2e check that the sandbox dials nothing outside 127.0.0.0/8.
.PHONY: iproute2
iproute2:
	@command -v ss >/dev/null || { echo "Installing iproute2 for ss"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }

.PHONY: e2e
e2e: sandbox-tools iproute2 prometheus ## Run the testing playbook (test/e2e) against the sandbox
	cd test && REBALANCER_BIN=$(BIN) go test -tags e2e -count=1 -timeout 30m $(GO_TEST_FLAGS) ./e2e/...
