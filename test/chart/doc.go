// Package chart tests what users install and build the Rebalancer from: the Helm chart in
// charts/rebalancer (rendered with the pinned helm CLI, linted, its schema, its RBAC against an
// allow-list and against the API server's built-in scheduler roles, and every object applied with
// server-side dry-run to the real kube-apiserver in a namespace that enforces Pod Security
// "restricted"), the plain manifests in manifests/install generated from it, the Dockerfiles
// against the Makefile's cross build, and the Kaniko and Trivy job templates of the Jenkins
// pipeline.
//
// The tests need bin/helm (`make helm`, found through $REBALANCER_HELM) and the control plane
// (`make controlplane`); they fail, never skip, when either is missing. `make test` builds both.
package chart
