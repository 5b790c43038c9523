package crds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/test/controlplane"
)

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func decode(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("decoding test object: %v\n%s", err, doc)
	}
	return u
}

func TestCRDsAreServed(t *testing.T) {
	want := map[string]bool{"rebalancepolicies": false, "workloadslos": false, "nodeclasses": false}
	for _, gvr := range env.CRDs() {
		if gvr.Group != v1alpha1.GroupName || gvr.Version != "v1alpha1" {
			t.Errorf("unexpected CRD version %s", gvr)
		}
		want[gvr.Resource] = true
	}
	for r, found := range want {
		if !found {
			t.Errorf("CRD for %s not installed from manifests/crds", r)
		}
	}
	ctx := context.Background()
	lists := []client.ObjectList{&v1alpha1.RebalancePolicyList{}, &v1alpha1.WorkloadSLOList{}, &v1alpha1.NodeClassList{}}
	for _, l := range lists {
		if err := env.Client.List(ctx, l); err != nil {
			t.Errorf("listing %T from the API server: %v", l, err)
		}
	}
}

// TestSamplesApply applies every file in manifests/samples unchanged and reads each object back.
func TestSamplesApply(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "manifests", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d samples, want at least 3", len(files))
	}
	ctx := context.Background()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			obj := decode(t, string(data))
			if ns := obj.GetNamespace(); ns != "" {
				ensureNamespace(t, ns)
			}
			sent := obj.DeepCopy()
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("sample rejected by the API server: %v", err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(ctx, obj) })
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			// Everything the sample says is stored as it says (defaults may add to it).
			assertSubset(t, "spec", sent.Object["spec"], got.Object["spec"])
		})
	}
}

// assertSubset fails when a value in want is missing from, or different in, got.
func assertSubset(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: stored %v, want an object", path, got)
			return
		}
		for k, v := range w {
			assertSubset(t, path+"."+k, v, g[k])
		}
	default:
		if diff := cmp.Diff(normalizeNumber(want), normalizeNumber(got)); diff != "" {
			t.Errorf("%s stored differently (-sent,+stored):\n%s", path, diff)
		}
	}
}

func normalizeNumber(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return v
}

// TestInvalidObjectsAreRejected sends objects that must be refused and checks that the API server
// says why in words a person understands, and that nothing was created.
func TestInvalidObjectsAreRejected(t *testing.T) {
	ensureNamespace(t, "invalid")
	policy := func(spec string) string {
		return "apiVersion: rebalancer.atarnet.org/v1alpha1\nkind: RebalancePolicy\nmetadata:\n  name: invalid\nspec:\n" + indent(spec)
	}
	slo := func(spec string) string {
		return "apiVersion: rebalancer.atarnet.org/v1alpha1\nkind: WorkloadSLO\nmetadata:\n  name: invalid\n  namespace: invalid\nspec:\n" + indent(spec)
	}
	nodeClass := func(spec string) string {
		return "apiVersion: rebalancer.atarnet.org/v1alpha1\nkind: NodeClass\nmetadata:\n  name: invalid\nspec:\n" + indent(spec)
	}
	manyBudgets := "namespaceBudgets:\n"
	for i := 0; i < 257; i++ {
		manyBudgets += fmt.Sprintf("- {namespace: ns%d, maxDisruptionsPerHour: 1}\n", i)
	}
	cases := []struct {
		name string
		obj  string
		want string
	}{
		{"cold not below hot", policy("thresholds: {hot: 0.5, cold: 0.6}"), "thresholds.cold must be lower than thresholds.hot"},
		{"cold equal to hot", policy("thresholds: {hot: 0.5, cold: 0.5}"), "thresholds.cold must be lower than thresholds.hot"},
		{"cold above default hot", policy("thresholds: {cold: 0.8}"), "thresholds.cold must be lower than thresholds.hot"},
		{"hot above 1", policy("thresholds: {hot: 1.5, cold: 0.2}"), "spec.thresholds.hot: Invalid value: 1.5: spec.thresholds.hot in body should be less than or equal to 1"},
		{"hot zero", policy("thresholds: {hot: 0, cold: 0.2}"), "spec.thresholds.hot in body should be greater than 0"},
		{"negative weight", policy("weights: {cpu: -0.1, memory: 1}"), "spec.weights.cpu in body should be greater than or equal to 0"},
		{"weights both zero", policy("weights: {cpu: 0, memory: 0}"), "weights.cpu and weights.memory must not both be 0"},
		{"negative rate limit", policy("rateLimits: {maxEvictionsPerCycle: -1}"), "spec.rateLimits.maxEvictionsPerCycle in body should be greater than or equal to 0"},
		{"per-node limit above per-cycle", policy("rateLimits: {maxEvictionsPerCycle: 2, maxEvictionsPerNodePerCycle: 3}"), "rateLimits.maxEvictionsPerNodePerCycle must not exceed rateLimits.maxEvictionsPerCycle"},
		{"per-cycle limit above hourly", policy("rateLimits: {maxEvictionsPerCycle: 20, maxEvictionsPerHour: 10}"), "rateLimits.maxEvictionsPerCycle must not exceed rateLimits.maxEvictionsPerHour"},
		{"negative backoff", policy("podBackoff: -5m"), "podBackoff must be a non-negative duration such as 90s, 30m or 1h"},
		{"interval too short", policy("interval: 5s"), "interval must be a duration of at least 10s"},
		{"interval not a duration", policy("interval: soon"), "interval must be a duration of at least 10s"},
		{"negative min pod age", policy("safety: {minPodAge: -1h}"), "minPodAge must be a non-negative duration"},
		{"zero stale-after", policy("metrics: {staleAfter: 0s}"), "staleAfter must be a duration of at least 15s"},
		{"stale-after below the source's resolution", policy("metrics: {staleAfter: 1ms}"), "staleAfter must be a duration of at least 15s"},
		{"pod selector with an unknown operator", policy("podSelector: {matchExpressions: [{key: app, operator: Near, values: [web]}]}"), "podSelector: each matchExpressions operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"},
		{"window schedule of six fields", policy("disruptionWindows: [{schedule: '0 0 2 * * *', duration: 2h}]"), "schedule must be a cron expression of five fields"},
		{"window schedule with @every", policy("disruptionWindows: [{schedule: '@every 1h', duration: 2h}]"), "schedule must be a cron expression of five fields"},
		{"window schedule with its own time zone", policy("disruptionWindows: [{schedule: 'CRON_TZ=Europe/Berlin 0 2 * * *', duration: 2h}]"), "the time zone goes in timezone, not in the schedule"},
		{"window without duration", policy("disruptionWindows: [{schedule: '0 2 * * *'}]"), "spec.disruptionWindows[0].duration: Required value"},
		{"window shorter than a minute", policy("disruptionWindows: [{schedule: '0 2 * * *', duration: 30s}]"), "duration must be a duration from 1m to 168h"},
		{"window longer than a week", policy("disruptionWindows: [{schedule: '@weekly', duration: 169h}]"), "duration must be a duration from 1m to 168h"},
		{"window time zone not a name", policy("disruptionWindows: [{schedule: '0 2 * * *', duration: 1h, timezone: '+02:00'}]"), "spec.disruptionWindows[0].timezone in body should match"},
		{"node selector In without values", policy("nodeSelector: {matchExpressions: [{key: zone, operator: In}]}"), "nodeSelector: each matchExpressions operator must be In or NotIn"},
		{"namespace selector Exists with values", policy("namespaceSelector: {matchExpressions: [{key: team, operator: Exists, values: [a]}]}"), "namespaceSelector: each matchExpressions operator"},
		{"slo selector with an unknown operator", slo("selector: {matchExpressions: [{key: app, operator: Like, values: [api]}]}"), "selector: each matchExpressions operator"},
		{"node class selector with an unknown operator", nodeClass("nodeSelector: {matchExpressions: [{key: kubernetes.io/arch, operator: Equals, values: [arm64]}]}"), "nodeSelector: each matchExpressions operator"},
		{"unknown metrics source", policy("metrics: {source: graphite}"), `Unsupported value: "graphite": supported values: "metricsServer", "prometheus"`},
		{"unknown destinations", policy("destinations: Anywhere"), `Unsupported value: "Anywhere": supported values: "Cold", "NotHot"`},
		{"prometheus settings with metrics-server", policy("metrics: {source: metricsServer, prometheus: {address: 'http://prom:9090'}}"), "metrics.prometheus may be set only when metrics.source is prometheus"},
		{"prometheus settings with the default source", policy("metrics: {prometheus: {address: 'http://prom:9090'}}"), "metrics.prometheus may be set only when metrics.source is prometheus"},
		{"prometheus address not http", policy("metrics: {source: prometheus, prometheus: {address: 'ftp://prom:21'}}"), "prometheus.address must be an http or https URL"},
		{"include and exclude namespaces", policy("namespaces: {include: [a], exclude: [b]}"), "set namespaces.include or namespaces.exclude, not both"},
		{"namespace name invalid", policy("namespaces: {exclude: [Kube_System]}"), "spec.namespaces.exclude[0] in body should match"},
		{"too many namespace budgets", policy(manyBudgets), "spec.namespaceBudgets: Too many: 257: must have at most 256 items"},
		{"duplicate namespace budget", policy("namespaceBudgets: [{namespace: prod, maxDisruptionsPerHour: 1}, {namespace: prod, maxDisruptionsPerHour: 2}]"), `spec.namespaceBudgets[1]: Duplicate value: {"namespace":"prod"}`},
		{"priority threshold value and name", policy("safety: {priorityThreshold: {value: 10, name: high}}"), "set exactly one of priorityThreshold.value and priorityThreshold.name"},
		{"negative local storage", policy("safety: {maxLocalStorage: -1Gi}"), "maxLocalStorage must be a non-negative quantity such as 500Mi or 1Gi"},
		{"margin wider than the gap", policy("thresholds: {hot: 0.6, cold: 0.5}\nhysteresis: {margin: 0.1}"), "hysteresis.margin must be less than half the gap between thresholds.hot and thresholds.cold"},
		{"zero consecutive readings", policy("hysteresis: {consecutiveReadings: 0}"), "spec.hysteresis.consecutiveReadings in body should be greater than or equal to 1"},
		{"slo without selector", slo("maxDisruptionsPerHour: 1"), "spec.selector: Required value"},
		{"slo with empty selector", slo("selector: {}"), "selector must have matchLabels or matchExpressions; an empty selector would cover every pod in the namespace"},
		{"slo negative disruptions", slo("selector: {matchLabels: {app: api}}\nmaxDisruptionsPerHour: -1"), "spec.maxDisruptionsPerHour in body should be greater than or equal to 0"},
		{"slo min available above 100%", slo("selector: {matchLabels: {app: api}}\nminAvailable: 150%"), "minAvailable must be a non-negative integer or a percentage from 0% to 100%"},
		{"slo negative min available", slo("selector: {matchLabels: {app: api}}\nminAvailable: -1"), "minAvailable must be a non-negative integer or a percentage from 0% to 100%"},
		{"slo stateful budget without allowStateful", slo("selector: {matchLabels: {app: db}}\nmaxStatefulDisruptionsPerHour: 1"), "maxStatefulDisruptionsPerHour may be set only when allowStateful is true"},
		{"slo stateful budget above total", slo("selector: {matchLabels: {app: db}}\nallowStateful: true\nmaxDisruptionsPerHour: 1\nmaxStatefulDisruptionsPerHour: 2"), "maxStatefulDisruptionsPerHour must not exceed maxDisruptionsPerHour"},
		{"slo negative readiness window", slo("selector: {matchLabels: {app: api}}\nreadinessWindow: -1m"), "readinessWindow must be a non-negative duration"},
		{"node class zero capacity factor", nodeClass("nodeSelector: {matchLabels: {kubernetes.io/arch: arm64}}\ncapacityFactor: 0"), "spec.capacityFactor in body should be greater than 0"},
		{"node class unknown profile", nodeClass("nodeSelector: {matchLabels: {kubernetes.io/arch: arm64}}\npreferredProfiles: [gpu-bound]"), `Unsupported value: "gpu-bound": supported values: "cpu-bound", "memory-bound", "balanced"`},
		{"node class weight above 100", nodeClass("nodeSelector: {matchLabels: {kubernetes.io/arch: arm64}}\nweight: 101"), "spec.weight in body should be less than or equal to 100"},
		{"node class thresholds inverted", nodeClass("nodeSelector: {matchLabels: {kubernetes.io/arch: arm64}}\nthresholds: {hot: 0.3, cold: 0.4}"), "thresholds.cold must be lower than thresholds.hot"},
		{"node class empty selector", nodeClass("nodeSelector: {}"), "nodeSelector must have matchLabels or matchExpressions"},
		{"node class duplicate profile", nodeClass("nodeSelector: {matchLabels: {kubernetes.io/arch: arm64}}\npreferredProfiles: [balanced, balanced]"), `spec.preferredProfiles[1]: Duplicate value: "balanced"`},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := decode(t, tc.obj)
			err := env.Client.Create(ctx, obj)
			if err == nil {
				_ = env.Client.Delete(ctx, obj)
				t.Fatalf("the API server accepted an invalid object; want an error containing %q", tc.want)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got error %v, want an Invalid (422) error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say what a user needs to see\n got: %v\nwant fragment: %q", err, tc.want)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); !apierrors.IsNotFound(err) {
				t.Errorf("after a rejected create, Get returned %v; want NotFound", err)
			}
		})
	}
}

// TestDefaults creates minimal objects and checks that the API server fills in the documented
// defaults, the same values as the Go constants code falls back to.
func TestDefaults(t *testing.T) {
	ctx := context.Background()

	t.Run("RebalancePolicy", func(t *testing.T) {
		p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "minimal"}}
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, p) })
		got := &v1alpha1.RebalancePolicy{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.RebalancePolicySpec{
			DryRun:      ptr.To(v1alpha1.DefaultDryRun),
			PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.OptInLabelKey: v1alpha1.OptInLabelValue}},
			Weights:     &v1alpha1.ResourceWeights{CPU: ptr.To(v1alpha1.DefaultWeightCPU), Memory: ptr.To(v1alpha1.DefaultWeightMemory)},
			Thresholds:  &v1alpha1.Thresholds{Hot: v1alpha1.DefaultHotThreshold, Cold: v1alpha1.DefaultColdThreshold},
			Hysteresis: &v1alpha1.Hysteresis{
				Margin:              ptr.To(v1alpha1.DefaultHysteresisMargin),
				ConsecutiveReadings: v1alpha1.DefaultConsecutiveReadings,
			},
			MinSigmaImprovement: ptr.To(v1alpha1.DefaultMinSigmaImprovement),
			Destinations:        ptr.To(v1alpha1.DefaultDestinations),
			RateLimits: &v1alpha1.RateLimits{
				MaxEvictionsPerCycle:        ptr.To[int32](v1alpha1.DefaultMaxEvictionsPerCycle),
				MaxEvictionsPerNodePerCycle: ptr.To[int32](v1alpha1.DefaultMaxEvictionsPerNodePerCycle),
				MaxEvictionsPerHour:         ptr.To[int32](v1alpha1.DefaultMaxEvictionsPerHour),
			},
			PodBackoff: &metav1.Duration{Duration: v1alpha1.DefaultPodBackoff},
			Safety: &v1alpha1.Safety{
				PriorityThreshold: &v1alpha1.PriorityThreshold{Value: ptr.To[int32](v1alpha1.DefaultPriorityThreshold)},
				MaxLocalStorage:   ptr.To(resource.MustParse(v1alpha1.DefaultMaxLocalStorage)),
				PinnedAnnotation:  v1alpha1.DefaultPinnedAnnotation,
				MinPodAge:         &metav1.Duration{Duration: v1alpha1.DefaultMinPodAge},
			},
			Metrics: &v1alpha1.MetricsSource{
				Source:     v1alpha1.DefaultUsageSource,
				StaleAfter: &metav1.Duration{Duration: v1alpha1.DefaultStaleAfter},
			},
			Interval: &metav1.Duration{Duration: v1alpha1.DefaultInterval},
		}
		if diff := cmp.Diff(want, got.Spec, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
			t.Errorf("defaulted spec (-want,+got):\n%s", diff)
		}
	})

	t.Run("RebalancePolicy dryRun false is kept", func(t *testing.T) {
		p := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Spec: v1alpha1.RebalancePolicySpec{DryRun: ptr.To(false)}}
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, p) })
		got := &v1alpha1.RebalancePolicy{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), got); err != nil {
			t.Fatal(err)
		}
		if got.Spec.DryRun == nil || *got.Spec.DryRun {
			t.Errorf("dryRun = %v, want false as sent", got.Spec.DryRun)
		}
	})

	t.Run("WorkloadSLO", func(t *testing.T) {
		ensureNamespace(t, "defaults")
		s := &v1alpha1.WorkloadSLO{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: "defaults"},
			Spec:       v1alpha1.WorkloadSLOSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}},
		}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, s) })
		got := &v1alpha1.WorkloadSLO{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.WorkloadSLOSpec{
			Selector:              s.Spec.Selector,
			MaxDisruptionsPerHour: ptr.To[int32](v1alpha1.DefaultSLOMaxDisruptionsPerHour),
			ReadinessWindow:       &metav1.Duration{Duration: v1alpha1.DefaultSLOReadinessWindow},
			AllowStateful:         ptr.To(false),
		}
		if diff := cmp.Diff(want, got.Spec); diff != "" {
			t.Errorf("defaulted spec (-want,+got):\n%s", diff)
		}
	})

	t.Run("WorkloadSLO minAvailable percentage", func(t *testing.T) {
		ensureNamespace(t, "defaults")
		s := &v1alpha1.WorkloadSLO{
			ObjectMeta: metav1.ObjectMeta{Name: "percent", Namespace: "defaults"},
			Spec: v1alpha1.WorkloadSLOSpec{
				Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				MinAvailable: ptr.To(intstr.FromString("80%")),
			},
		}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatalf("a percentage minAvailable was rejected: %v", err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, s) })
	})

	t.Run("NodeClass", func(t *testing.T) {
		n := &v1alpha1.NodeClass{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
			Spec:       v1alpha1.NodeClassSpec{NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/arch": "amd64"}}},
		}
		if err := env.Client.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, n) })
		got := &v1alpha1.NodeClass{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(n), got); err != nil {
			t.Fatal(err)
		}
		want := v1alpha1.NodeClassSpec{
			NodeSelector:   n.Spec.NodeSelector,
			Weight:         ptr.To[int32](v1alpha1.DefaultNodeClassWeight),
			CapacityFactor: ptr.To(v1alpha1.DefaultNodeClassCapacityFactor),
		}
		if diff := cmp.Diff(want, got.Spec); diff != "" {
			t.Errorf("defaulted spec (-want,+got):\n%s", diff)
		}
	})
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
