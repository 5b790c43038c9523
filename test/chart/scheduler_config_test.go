package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeschedulerv1 "k8s.io/kube-scheduler/config/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/tinorodney/rebalancer/apis/config"
	configv1 "github.com/tinorodney/rebalancer/apis/config/v1"
	"github.com/tinorodney/rebalancer/apis/config/validation"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

const pluginName = "RebalancerNodeClassFit"

// decodeSchedulerConfig decodes a KubeSchedulerConfiguration strictly: a misspelt or misplaced
// field fails here as it would stop kube-scheduler.
func decodeSchedulerConfig(t *testing.T, data []byte) *kubeschedulerv1.KubeSchedulerConfiguration {
	t.Helper()
	cfg := &kubeschedulerv1.KubeSchedulerConfiguration{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		t.Fatalf("decoding the KubeSchedulerConfiguration strictly: %v\n%s", err, data)
	}
	if cfg.APIVersion != "kubescheduler.config.k8s.io/v1" || cfg.Kind != "KubeSchedulerConfiguration" {
		t.Fatalf("apiVersion/kind = %s/%s", cfg.APIVersion, cfg.Kind)
	}
	return cfg
}

// schedulerConfig is the KubeSchedulerConfiguration in the rendered ConfigMap.
func schedulerConfig(t *testing.T, objs []*unstructured.Unstructured) *kubeschedulerv1.KubeSchedulerConfiguration {
	t.Helper()
	cm := &corev1.ConfigMap{}
	typed(t, objs, "ConfigMap", "rebalancer-scheduler-config", cm)
	data, ok := cm.Data["scheduler-config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap rebalancer-scheduler-config has no scheduler-config.yaml: %v", cm.Data)
	}
	return decodeSchedulerConfig(t, []byte(data))
}

// pluginArgs decodes, defaults, converts and validates the plugin's args in cfg's only profile,
// as kube-scheduler does before it builds the plugin.
func pluginArgs(t *testing.T, cfg *kubeschedulerv1.KubeSchedulerConfiguration) *config.RebalancerNodeClassFitArgs {
	t.Helper()
	if len(cfg.Profiles) != 1 {
		t.Fatalf("%d profiles, want 1", len(cfg.Profiles))
	}
	for i, pc := range cfg.Profiles[0].PluginConfig {
		if pc.Name != pluginName {
			continue
		}
		v1 := &configv1.RebalancerNodeClassFitArgs{}
		if err := yaml.UnmarshalStrict(pc.Args.Raw, v1); err != nil {
			t.Fatalf("decoding the plugin args strictly: %v\n%s", err, pc.Args.Raw)
		}
		configv1.SetDefaults_RebalancerNodeClassFitArgs(v1)
		args := &config.RebalancerNodeClassFitArgs{}
		if err := configv1.Convert_v1_RebalancerNodeClassFitArgs_To_config_RebalancerNodeClassFitArgs(v1, args, nil); err != nil {
			t.Fatalf("converting the plugin args: %v", err)
		}
		if errs := validation.ValidateRebalancerNodeClassFitArgs(nil, args); len(errs) > 0 {
			t.Fatalf("plugin args of pluginConfig[%d] are invalid: %v", i, errs.ToAggregate())
		}
		return args
	}
	t.Fatalf("no pluginConfig for %s", pluginName)
	return nil
}

func schedulerArgs(t *testing.T, objs []*unstructured.Unstructured) *config.RebalancerNodeClassFitArgs {
	t.Helper()
	return pluginArgs(t, schedulerConfig(t, objs))
}

// TestSchedulerConfig checks the rendered configuration against manifests/scheduler's, which
// test/scheduler runs: the same profile, plugin weight and args. The chart differs on purpose in
// two places: the Lease lives in the release namespace (RBAC grants it there) and preemption is
// off (the scheduler may not delete pods).
func TestSchedulerConfig(t *testing.T) {
	objs := render(t, releaseNamespace, "")
	got := schedulerConfig(t, objs)
	data, err := os.ReadFile(repoPath("manifests", "scheduler", "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ref := decodeSchedulerConfig(t, data)

	wantLE := ref.LeaderElection
	wantLE.ResourceNamespace = releaseNamespace
	if diff := cmp.Diff(wantLE, got.LeaderElection); diff != "" {
		t.Errorf("leaderElection (-want,+got):\n%s", diff)
	}
	if got.LeaderElection.ResourceName != "rebalancer-scheduler" {
		t.Errorf("lease %q: the scheduler's leader-election Role names rebalancer-scheduler", got.LeaderElection.ResourceName)
	}
	if len(got.Profiles) != 1 || len(ref.Profiles) != 1 {
		t.Fatalf("profiles: chart %d, manifests/scheduler %d; want 1 each", len(got.Profiles), len(ref.Profiles))
	}
	gp, rp := got.Profiles[0], ref.Profiles[0]
	if ptr.Deref(gp.SchedulerName, "") != "rebalancer-scheduler" || ptr.Deref(gp.SchedulerName, "") != ptr.Deref(rp.SchedulerName, "") {
		t.Errorf("schedulerName: chart %q, manifests/scheduler %q, want rebalancer-scheduler", ptr.Deref(gp.SchedulerName, ""), ptr.Deref(rp.SchedulerName, ""))
	}
	if diff := cmp.Diff(rp.Plugins.MultiPoint, gp.Plugins.MultiPoint); diff != "" {
		t.Errorf("multiPoint plugins (-manifests/scheduler,+chart):\n%s", diff)
	}
	wantPostFilter := kubeschedulerv1.PluginSet{Disabled: []kubeschedulerv1.Plugin{{Name: "DefaultPreemption"}}}
	if diff := cmp.Diff(wantPostFilter, gp.Plugins.PostFilter); diff != "" {
		t.Errorf("postFilter (-want,+got):\n%s", diff)
	}
	if diff := cmp.Diff(pluginArgs(t, ref), pluginArgs(t, got)); diff != "" {
		t.Errorf("plugin args (-manifests/scheduler,+chart):\n%s", diff)
	}
	// Every node scored, in both: the evictor confirms moves with this profile.
	if ptr.Deref(gp.PercentageOfNodesToScore, 0) != 100 || ptr.Deref(rp.PercentageOfNodesToScore, 0) != 100 {
		t.Errorf("percentageOfNodesToScore: chart %v, manifests/scheduler %v, want 100", gp.PercentageOfNodesToScore, rp.PercentageOfNodesToScore)
	}
}

// TestEvictorReadsTheSchedulersConfig: the scheduler name and placement weights are set once, in
// the chart's values, and reach both programs: the evictor mounts the scheduler's own ConfigMap
// and passes it to --scheduler-config, and a placement engine built from that file places pods
// of the renamed scheduler with the configured weights.
func TestEvictorReadsTheSchedulersConfig(t *testing.T) {
	objs := render(t, releaseNamespace, `
scheduler:
  schedulerName: balancer
  pluginArgs:
    placementWeights: {headroom: 80, classWeight: 0, profile: 20}
`)
	ev := deployment(t, objs, "rebalancer")
	c := ev.Spec.Template.Spec.Containers[0]
	const path = "/etc/rebalancer/scheduler/scheduler-config.yaml"
	if !slices.Contains(c.Args, "--scheduler-config="+path) {
		t.Fatalf("evictor args %v lack --scheduler-config=%s", c.Args, path)
	}
	var mounted string
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(path, m.MountPath+"/") {
			for _, v := range ev.Spec.Template.Spec.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					mounted = v.ConfigMap.Name
				}
			}
		}
	}
	if mounted != "rebalancer-scheduler-config" {
		t.Fatalf("the evictor mounts ConfigMap %q at %s, want the scheduler's rebalancer-scheduler-config", mounted, path)
	}
	cm := &corev1.ConfigMap{}
	typed(t, objs, "ConfigMap", mounted, cm)
	cfg, err := placement.LoadConfig([]byte(cm.Data[filepath.Base(path)]))
	if err != nil {
		t.Fatalf("the evictor cannot load the scheduler's configuration: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := placement.NewStatic(ctx, []*schedconfig.KubeSchedulerConfiguration{cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.Handles("balancer") || e.Handles(v1alpha1.SchedulerName) {
		t.Errorf("engine schedulers %v, want only balancer", e.Schedulers())
	}
	w := pluginArgs(t, schedulerConfig(t, objs)).PlacementWeights
	if w.Headroom != 80 || w.ClassWeight != 0 || w.Profile != 20 {
		t.Errorf("placement weights %+v, want 80/0/20 from the values", w)
	}
}
