package nodeclassfit

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	kubeschedulerconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	kubeschedulervalidation "k8s.io/kubernetes/pkg/scheduler/apis/config/validation"

	"github.com/tinorodney/rebalancer/apis/config"
	"github.com/tinorodney/rebalancer/apis/config/validation"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// load reads a KubeSchedulerConfiguration file with kube-scheduler's own loader (strict decoding,
// defaulting, conversion) and validates it as kube-scheduler does, then the plugin's args as the
// plugin does.
func load(t *testing.T, doc string) (*config.RebalancerNodeClassFitArgs, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := scheduleroptions.LoadConfigFromFile(klog.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := kubeschedulervalidation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return nil, err
	}
	args := pluginArgs(t, cfg)
	if errs := validation.ValidateRebalancerNodeClassFitArgs(nil, args); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return args, nil
}

func pluginArgs(t *testing.T, cfg *kubeschedulerconfig.KubeSchedulerConfiguration) *config.RebalancerNodeClassFitArgs {
	t.Helper()
	for _, prof := range cfg.Profiles {
		for _, pc := range prof.PluginConfig {
			if pc.Name != Name {
				continue
			}
			a, ok := pc.Args.(*config.RebalancerNodeClassFitArgs)
			if !ok {
				t.Fatalf("args decoded as %T", pc.Args)
			}
			return a
		}
	}
	t.Fatalf("no pluginConfig for %s", Name)
	return nil
}

func readmeExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := yamlBlock.FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no yaml example")
	}
	return string(m[1])
}

func TestREADMEExample(t *testing.T) {
	args, err := load(t, readmeExample(t))
	if err != nil {
		t.Fatalf("the README's example does not load: %v", err)
	}
	want := &config.RebalancerNodeClassFitArgs{
		PlacementWeights:     config.PlacementWeights{Headroom: 60, ClassWeight: 10, Profile: 30},
		PolicyName:           "default",
		UsageRefreshInterval: metav1.Duration{Duration: 15 * time.Second},
		PrometheusAddress:    "http://prometheus-operated.monitoring:9090",
	}
	args.TypeMeta = metav1.TypeMeta{}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("README args (-want,+got):\n%s", diff)
	}
}

func TestREADMEExampleRejectsMistakes(t *testing.T) {
	example := readmeExample(t)
	tests := []struct {
		name string
		// edits are pairs of old and new text.
		edits   []string
		wantErr []string
	}{
		{name: "unknown field", edits: []string{"policyName: default", "policyName: default\n          policyname: typo"}, wantErr: []string{`unknown field "policyname"`}},
		{name: "wrong type", edits: []string{"headroom: 60", "headroom: lots"}, wantErr: []string{"headroom"}},
		{
			name:    "out of range: every error reported",
			edits:   []string{"headroom: 60", "headroom: 600", "profile: 30", "profile: -1", "policyName: default", "policyName: Not_A_Name"},
			wantErr: []string{"placementWeights.headroom", "placementWeights.profile", "policyName"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := example
			for i := 0; i < len(tc.edits); i += 2 {
				if !strings.Contains(doc, tc.edits[i]) {
					t.Fatalf("the README's example no longer contains %q", tc.edits[i])
				}
				doc = strings.Replace(doc, tc.edits[i], tc.edits[i+1], 1)
			}
			_, err := load(t, doc)
			if err == nil {
				t.Fatal("the broken example loaded")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want one mentioning %s", err, want)
				}
			}
		})
	}
}

func TestManifestLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "scheduler", "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args, err := load(t, string(b))
	if err != nil {
		t.Fatalf("manifests/scheduler/kube-scheduler-config.yaml does not load: %v", err)
	}
	if args.PolicyName != "default" {
		t.Errorf("policyName = %q, want default", args.PolicyName)
	}
}
