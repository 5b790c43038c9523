package v1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestSetDefaults(t *testing.T) {
	defaults := RebalancerNodeClassFitArgs{
		PlacementWeights:     &PlacementWeights{Headroom: ptr.To[int32](60), ClassWeight: ptr.To[int32](10), Profile: ptr.To[int32](30)},
		PolicyName:           ptr.To("default"),
		UsageRefreshInterval: &metav1.Duration{Duration: 15 * time.Second},
	}
	tests := []struct {
		name string
		in   RebalancerNodeClassFitArgs
		want RebalancerNodeClassFitArgs
	}{
		{name: "empty args take every default", want: defaults},
		{
			name: "set fields are kept, unset weights take their defaults",
			in: RebalancerNodeClassFitArgs{
				PlacementWeights:     &PlacementWeights{Headroom: ptr.To[int32](80)},
				PolicyName:           ptr.To("gpu-nodes"),
				UsageRefreshInterval: &metav1.Duration{Duration: time.Minute},
				PrometheusAddress:    ptr.To("http://prometheus:9090"),
			},
			want: RebalancerNodeClassFitArgs{
				PlacementWeights:     &PlacementWeights{Headroom: ptr.To[int32](80), ClassWeight: ptr.To[int32](10), Profile: ptr.To[int32](30)},
				PolicyName:           ptr.To("gpu-nodes"),
				UsageRefreshInterval: &metav1.Duration{Duration: time.Minute},
				PrometheusAddress:    ptr.To("http://prometheus:9090"),
			},
		},
		{
			name: "defaulting never repairs bad values: zeros and an empty name stay for validation to reject",
			in: RebalancerNodeClassFitArgs{
				PlacementWeights:     &PlacementWeights{Headroom: ptr.To[int32](0), ClassWeight: ptr.To[int32](0), Profile: ptr.To[int32](-1)},
				PolicyName:           ptr.To(""),
				UsageRefreshInterval: &metav1.Duration{},
			},
			want: RebalancerNodeClassFitArgs{
				PlacementWeights:     &PlacementWeights{Headroom: ptr.To[int32](0), ClassWeight: ptr.To[int32](0), Profile: ptr.To[int32](-1)},
				PolicyName:           ptr.To(""),
				UsageRefreshInterval: &metav1.Duration{},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.DeepCopy()
			SetDefaults_RebalancerNodeClassFitArgs(got)
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("defaults (-want,+got):\n%s", diff)
			}
		})
	}
}
