package placement

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/latest"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"

	// RebalancerNodeClassFit's args are a kube-scheduler config kind; the scheme must know them
	// before a configuration that sets them is decoded.
	_ "github.com/tinorodney/rebalancer/apis/config/scheme"
)

// DefaultSchedulerName is the name of kube-scheduler's default profile.
const DefaultSchedulerName = "default-scheduler"

// LoadConfig decodes a KubeSchedulerConfiguration as kube-scheduler does (strictly, an unknown
// field is an error), applies kube-scheduler's defaults and validates it.
func LoadConfig(data []byte) (*schedconfig.KubeSchedulerConfiguration, error) {
	codecs := serializer.NewCodecFactory(schedscheme.Scheme, serializer.EnableStrict)
	obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding KubeSchedulerConfiguration: %w", err)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		return nil, fmt.Errorf("decoding KubeSchedulerConfiguration: got %s", gvk)
	}
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return nil, fmt.Errorf("invalid KubeSchedulerConfiguration: %w", err)
	}
	return cfg, nil
}

// DefaultConfig is kube-scheduler's configuration when it is given none: one profile,
// default-scheduler, with the default plugins. It is what a cluster's default scheduler runs
// unless its operator changed it.
func DefaultConfig() (*schedconfig.KubeSchedulerConfiguration, error) {
	return latest.Default()
}
