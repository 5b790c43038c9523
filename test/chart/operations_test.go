package chart

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The ServiceMonitor scrapes each evictor pod once: of the Services that select evictor pods,
// its selector matches exactly one (with two, the leader was scraped twice and every counter on
// the Grafana board doubled).
func TestServiceMonitorScrapesOnce(t *testing.T) {
	objs := render(t, "rebalancer-system", "serviceMonitor:\n  enabled: true\nevictor:\n  replicas: 2\n")
	sm := find(objs, "ServiceMonitor", "rebalancer")
	if sm == nil {
		t.Fatal("no ServiceMonitor rendered")
	}
	smSel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	deploy := find(objs, "Deployment", "rebalancer")
	podLabels, _, _ := unstructured.NestedStringMap(deploy.Object, "spec", "template", "metadata", "labels")
	var scraped []string
	for _, o := range objs {
		if o.GetKind() != "Service" {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		selectsEvictor := labels.SelectorFromSet(sel).Matches(labels.Set(podLabels))
		if selectsEvictor && labels.SelectorFromSet(smSel).Matches(labels.Set(o.GetLabels())) {
			scraped = append(scraped, o.GetName())
		}
	}
	if len(scraped) != 1 || scraped[0] != "rebalancer-metrics" {
		t.Errorf("the ServiceMonitor selects the Services %v of the evictor's pods, want only rebalancer-metrics", scraped)
	}
}

// The Ingress publishes the dashboard (pod and namespace names) only behind authentication: by
// default basic auth from a Secret the user creates; the chart refuses an Ingress without any
// unless allowAnonymous is set.
func TestIngressNeedsAuthentication(t *testing.T) {
	tests := []struct {
		name       string
		values     string
		wantErr    string
		wantAnnots map[string]string
	}{
		{name: "default: basic auth", values: "",
			wantAnnots: map[string]string{"nginx.ingress.kubernetes.io/auth-type": "basic", "nginx.ingress.kubernetes.io/auth-secret": "rebalancer-dashboard-auth"}},
		{name: "external auth", values: "ingress:\n  auth:\n    url: https://oauth.example/oauth2/auth\n    signin: https://oauth.example/oauth2/start\n",
			wantAnnots: map[string]string{"nginx.ingress.kubernetes.io/auth-url": "https://oauth.example/oauth2/auth", "nginx.ingress.kubernetes.io/auth-signin": "https://oauth.example/oauth2/start"}},
		{name: "the user's own auth annotation", values: "ingress:\n  auth:\n    basicSecret: \"\"\n  annotations:\n    nginx.ingress.kubernetes.io/auth-url: http://auth.local/check\n",
			wantAnnots: map[string]string{"nginx.ingress.kubernetes.io/auth-url": "http://auth.local/check"}},
		{name: "no authentication", values: "ingress:\n  auth:\n    basicSecret: \"\"\n", wantErr: "would publish it without authentication"},
		{name: "anonymous on purpose", values: "ingress:\n  auth:\n    basicSecret: \"\"\n  allowAnonymous: true\n", wantAnnots: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runHelm(t, renderArgs(t, "rebalancer-system", tc.values)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr, tc.wantErr) {
					t.Fatalf("helm template: err %v, stderr %q; want it to fail with %q", err, stderr, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, stderr)
			}
			objs, err := decodeObjects(out)
			if err != nil {
				t.Fatal(err)
			}
			ing := find(objs, "Ingress", "rebalancer")
			if ing == nil {
				t.Fatal("no Ingress rendered")
			}
			got := ing.GetAnnotations()
			for k, v := range tc.wantAnnots {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// The scheduler is always there: two replicas with leader election, spread over nodes, a
// PodDisruptionBudget, and both programs at system-cluster-critical.
func TestSchedulerIsHighlyAvailable(t *testing.T) {
	objs := render(t, "rebalancer-system", "")
	sched := find(objs, "Deployment", "rebalancer-scheduler")
	if n, _, _ := unstructured.NestedFieldNoCopy(sched.Object, "spec", "replicas"); fmt.Sprint(n) != "2" {
		t.Errorf("scheduler replicas %v, want 2", n)
	}
	cm := find(objs, "ConfigMap", "rebalancer-scheduler-config")
	cfg, _, _ := unstructured.NestedString(cm.Object, "data", "scheduler-config.yaml")
	if !strings.Contains(cfg, "leaderElect: true") {
		t.Errorf("the scheduler's configuration does not elect a leader:\n%s", cfg)
	}
	spread, _, _ := unstructured.NestedSlice(sched.Object, "spec", "template", "spec", "topologySpreadConstraints")
	if len(spread) != 1 || spread[0].(map[string]any)["topologyKey"] != "kubernetes.io/hostname" {
		t.Errorf("scheduler topologySpreadConstraints %v, want one by hostname", spread)
	}
	pdb := find(objs, "PodDisruptionBudget", "rebalancer-scheduler")
	if pdb == nil {
		t.Fatal("no PodDisruptionBudget for the scheduler")
	}
	if m, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable"); fmt.Sprint(m) != "1" {
		t.Errorf("scheduler PDB minAvailable %v, want 1", m)
	}
	for _, name := range []string{"rebalancer", "rebalancer-scheduler"} {
		d := find(objs, "Deployment", name)
		if pc, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "priorityClassName"); pc != "system-cluster-critical" {
			t.Errorf("%s priorityClassName %q, want system-cluster-critical", name, pc)
		}
	}
	if find(objs, "PodDisruptionBudget", "rebalancer") != nil {
		t.Error("a PodDisruptionBudget for a single evictor replica would block node drains")
	}
}

// kube-scheduler 1.37 must not run against an older API server (the version skew policy): the
// chart says so, and helm refuses an older cluster with a message that names the version.
func TestKubeVersion(t *testing.T) {
	args := append(renderArgs(t, "rebalancer-system", ""), "--kube-version", "1.36.4")
	_, stderr, err := runHelm(t, args...)
	if err == nil || !strings.Contains(stderr, "chart requires kubeVersion: >=1.37.0-0") {
		t.Errorf("helm template for Kubernetes 1.36: err %v, stderr %q; want a refusal naming >=1.37.0-0", err, stderr)
	}
	args = append(renderArgs(t, "rebalancer-system", ""), "--kube-version", "1.37.2")
	if _, stderr, err := runHelm(t, args...); err != nil {
		t.Errorf("helm template for Kubernetes 1.37.2: %v\n%s", err, stderr)
	}
}
