package validation

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tinorodney/rebalancer/apis/config"
)

func valid() config.RebalancerNodeClassFitArgs {
	return config.RebalancerNodeClassFitArgs{
		PlacementWeights:     config.PlacementWeights{Headroom: 60, ClassWeight: 10, Profile: 30},
		PolicyName:           "default",
		UsageRefreshInterval: metav1.Duration{Duration: 15 * time.Second},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.RebalancerNodeClassFitArgs)
		// want lists "<type>: <field>" of every error.
		want []string
	}{
		{name: "defaults are valid", mutate: func(*config.RebalancerNodeClassFitArgs) {}},
		{
			name:   "one weight alone is enough",
			mutate: func(a *config.RebalancerNodeClassFitArgs) { a.PlacementWeights = config.PlacementWeights{Profile: 1} },
		},
		{
			name: "limits are inclusive",
			mutate: func(a *config.RebalancerNodeClassFitArgs) {
				a.UsageRefreshInterval.Duration = 10 * time.Minute
				a.PlacementWeights.Headroom = 100
			},
		},
		{
			name:   "a Prometheus URL is accepted",
			mutate: func(a *config.RebalancerNodeClassFitArgs) { a.PrometheusAddress = "https://prometheus.monitoring:9090" },
		},
		{
			name:   "all weights 0",
			mutate: func(a *config.RebalancerNodeClassFitArgs) { a.PlacementWeights = config.PlacementWeights{} },
			want:   []string{"FieldValueInvalid: placementWeights"},
		},
		{
			name: "every error is returned, not only the first",
			mutate: func(a *config.RebalancerNodeClassFitArgs) {
				a.PlacementWeights = config.PlacementWeights{Headroom: -1, ClassWeight: 101, Profile: -200}
				a.PolicyName = "Not_A_Name"
				a.UsageRefreshInterval.Duration = 500 * time.Millisecond
				a.PrometheusAddress = "prometheus:9090"
			},
			want: []string{
				"FieldValueInvalid: placementWeights.headroom",
				"FieldValueInvalid: placementWeights.classWeight",
				"FieldValueInvalid: placementWeights.profile",
				"FieldValueInvalid: placementWeights",
				"FieldValueInvalid: policyName",
				"FieldValueInvalid: usageRefreshInterval",
				"FieldValueInvalid: prometheusAddress",
			},
		},
		{
			name:   "missing policy name and a zero interval",
			mutate: func(a *config.RebalancerNodeClassFitArgs) { a.PolicyName = ""; a.UsageRefreshInterval.Duration = 0 },
			want:   []string{"FieldValueRequired: policyName", "FieldValueInvalid: usageRefreshInterval"},
		},
		{
			name:   "interval above 10m",
			mutate: func(a *config.RebalancerNodeClassFitArgs) { a.UsageRefreshInterval.Duration = 11 * time.Minute },
			want:   []string{"FieldValueInvalid: usageRefreshInterval"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := valid()
			tc.mutate(&args)
			var got []string
			for _, e := range ValidateRebalancerNodeClassFitArgs(nil, &args) {
				got = append(got, string(e.Type)+": "+e.Field)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want,+got):\n%s", diff)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if errs := ValidateRebalancerNodeClassFitArgs(nil, nil); len(errs) != 1 {
		t.Errorf("nil args: want one error, got %v", errs)
	}
}
