package scheme

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeschedulerconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/tinorodney/rebalancer/apis/config"
)

// decode reads a KubeSchedulerConfiguration as kube-scheduler does: strict, defaulted, internal.
func decode(t *testing.T, doc string) (*kubeschedulerconfig.KubeSchedulerConfiguration, error) {
	t.Helper()
	obj, _, err := kubeschedulerscheme.Codecs.UniversalDecoder().Decode([]byte(doc), nil, nil)
	if err != nil {
		return nil, err
	}
	cfg, ok := obj.(*kubeschedulerconfig.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("decoded %T, want KubeSchedulerConfiguration", obj)
	}
	return cfg, nil
}

func argsOf(t *testing.T, cfg *kubeschedulerconfig.KubeSchedulerConfiguration) *config.RebalancerNodeClassFitArgs {
	t.Helper()
	for _, pc := range cfg.Profiles[0].PluginConfig {
		if pc.Name == "RebalancerNodeClassFit" {
			a, ok := pc.Args.(*config.RebalancerNodeClassFitArgs)
			if !ok {
				t.Fatalf("args are %T, want *config.RebalancerNodeClassFitArgs", pc.Args)
			}
			return a
		}
	}
	t.Fatal("no RebalancerNodeClassFit pluginConfig")
	return nil
}

const profile = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: rebalancer-scheduler
    plugins:
      multiPoint:
        enabled:
          - name: RebalancerNodeClassFit
`

func TestKubeSchedulerDecodesAndDefaultsTheArgs(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want config.RebalancerNodeClassFitArgs
	}{
		{
			name: "no pluginConfig: kube-scheduler adds the defaulted args",
			doc:  profile,
			want: config.RebalancerNodeClassFitArgs{
				PlacementWeights: config.PlacementWeights{Headroom: 60, ClassWeight: 10, Profile: 30},
				PolicyName:       "default", UsageRefreshInterval: metav1.Duration{Duration: 15 * time.Second},
			},
		},
		{
			name: "partial args are defaulted field by field",
			doc: profile + `    pluginConfig:
      - name: RebalancerNodeClassFit
        args:
          policyName: edge
          placementWeights: {profile: 50}
`,
			want: config.RebalancerNodeClassFitArgs{
				PlacementWeights: config.PlacementWeights{Headroom: 60, ClassWeight: 10, Profile: 50},
				PolicyName:       "edge", UsageRefreshInterval: metav1.Duration{Duration: 15 * time.Second},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := decode(t, tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			got := argsOf(t, cfg)
			got.TypeMeta = metav1.TypeMeta{}
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("args (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestKubeSchedulerRejectsUnknownFields(t *testing.T) {
	_, err := decode(t, profile+`    pluginConfig:
      - name: RebalancerNodeClassFit
        args:
          policyname: typo
`)
	if err == nil {
		t.Fatal("an unknown field in the args was accepted")
	}
	if want := `unknown field "policyname"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %s", err, want)
	}
}
