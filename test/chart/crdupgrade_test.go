package chart

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

// The CRDs chart is released with the main chart and installs exactly manifests/crds.
func TestCRDChartMatchesManifests(t *testing.T) {
	version := func(dir string) string {
		b, err := os.ReadFile(repoPath("charts", dir, "Chart.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Version, AppVersion string }
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c.Version + "/" + c.AppVersion
	}
	if a, b := version("rebalancer"), version("rebalancer-crds"); a != b {
		t.Errorf("chart versions rebalancer %s, rebalancer-crds %s: release them together", a, b)
	}
	out, stderr, err := runHelm(t, "template", "rebalancer-crds", repoPath("charts", "rebalancer-crds"))
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	rendered := map[string]apiextensionsv1.CustomResourceDefinition{}
	for _, doc := range strings.Split(out, "\n---") {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal([]byte(doc), &crd); err != nil || crd.Name == "" {
			continue
		}
		if crd.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: no helm.sh/resource-policy: keep (uninstalling would delete every object of the kind)", crd.Name)
		}
		rendered[crd.Name] = crd
	}
	files, _ := os.ReadDir(repoPath("manifests", "crds"))
	if len(rendered) != len(files) || len(files) != 3 {
		t.Fatalf("rendered %d CRDs, manifests/crds has %d files", len(rendered), len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(repoPath("manifests", "crds", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var want apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Spec, rendered[want.Name].Spec); diff != "" {
			t.Errorf("%s: the chart's spec differs from manifests/crds (-manifests,+chart):\n%s", want.Name, diff)
		}
	}
}

// Upgrading from chart 0.1.0, whose CRDs Helm installed from crds/ and never upgrades: the
// rebalancer-crds chart takes them over once (--take-ownership), the API server then serves the
// new fields, existing policies keep their status ledgers, and uninstalling the CRD chart keeps
// the CRDs and the policies. On its own API server: the package's has the current CRDs.
func TestCRDUpgradeFromPreviousChart(t *testing.T) {
	old, err := controlplane.StartWith(repoPath("test", "chart", "testdata", "crds-0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = old.Stop() })
	ctx := context.Background()
	c := old.Client
	kc := kubeconfigFor(t, old)

	// A policy of the previous version, with a ledger in its status.
	p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: v1alpha1.RebalancePolicySpec{DryRun: ptr.To(false)}}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	evicted := metav1.NewTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))
	p.Status.Ledger = []v1alpha1.Disruption{{Time: evicted, Namespace: "shop", Pod: "web-1", Node: "n1", Workload: "ReplicaSet/web"}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	windows := []v1alpha1.DisruptionWindow{{Schedule: "0 2 * * 1-5", Duration: metav1.Duration{Duration: 3 * time.Hour}, Timezone: "Europe/Berlin"}}
	if pruned := withWindows(t, c, windows); len(pruned) != 0 {
		t.Fatalf("the previous CRD kept disruptionWindows %v: the fixture is not the previous version", pruned)
	}

	install := []string{"upgrade", "--install", "rebalancer-crds", repoPath("charts", "rebalancer-crds"), "--kubeconfig", kc, "--wait", "--timeout", "2m"}
	_, stderr, err := runHelm(t, install...)
	if err == nil || !strings.Contains(stderr, "invalid ownership metadata") {
		t.Fatalf("upgrading without --take-ownership: err %v, stderr %s; want Helm to refuse CRDs it does not own", err, stderr)
	}
	if _, stderr, err := runHelm(t, append(install, "--take-ownership")...); err != nil {
		t.Fatalf("helm upgrade --install rebalancer-crds --take-ownership: %v\n%s", err, stderr)
	}
	// The next upgrade needs no flag: the release owns the CRDs.
	if _, stderr, err := runHelm(t, install...); err != nil {
		t.Fatalf("second helm upgrade: %v\n%s", err, stderr)
	}
	if got := withWindows(t, c, windows); !cmp.Equal(got, windows) {
		t.Errorf("after the upgrade the API server stores disruptionWindows %v, want %v", got, windows)
	}
	var got v1alpha1.RebalancePolicy
	if err := c.Get(ctx, types.NamespacedName{Name: "prod"}, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.Status.Ledger, got.Status.Ledger); diff != "" {
		t.Errorf("the ledger changed across the upgrade (-before,+after):\n%s", diff)
	}
	t.Logf("upgraded from the 0.1.0 CRDs: %d ledger entry kept, disruptionWindows stored", len(got.Status.Ledger))

	if _, stderr, err := runHelm(t, "uninstall", "rebalancer-crds", "--kubeconfig", kc, "--wait"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, stderr)
	}
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	if err := c.Get(ctx, types.NamespacedName{Name: "rebalancepolicies.rebalancer.atarnet.org"}, crd); err != nil {
		t.Fatalf("the CRD after uninstalling the CRD chart: %v (want it kept)", err)
	}
	if err := c.Get(ctx, types.NamespacedName{Name: "prod"}, &got); apierrors.IsNotFound(err) {
		t.Error("the policy is gone after uninstalling the CRD chart")
	}
}

// withWindows sets the policy prod's disruption windows and returns what the API server stored.
func withWindows(t *testing.T, c client.Client, ws []v1alpha1.DisruptionWindow) []v1alpha1.DisruptionWindow {
	t.Helper()
	ctx := context.Background()
	var p v1alpha1.RebalancePolicy
	if err := c.Get(ctx, types.NamespacedName{Name: "prod"}, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.DisruptionWindows = ws
	if err := c.Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, types.NamespacedName{Name: "prod"}, &p); err != nil {
		t.Fatal(err)
	}
	return p.Spec.DisruptionWindows
}
