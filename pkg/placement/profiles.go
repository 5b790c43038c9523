package placement

import (
	"encoding/json"
	"fmt"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	configv1 "github.com/tinorodney/rebalancer/apis/config/v1"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// RebalancerWeight is RebalancerNodeClassFit's weight in the rebalancer-scheduler profile: the
// requests-based default scorers (weight 1 each) move a node's total by at most 200, this plugin
// by 500, so what nodes really use and the NodeClass preferences win over requests, while
// preferred node affinity (2 x 100) and PreferNoSchedule taints (3 x 100) still count.
const RebalancerWeight = 5

// RebalancerConfig is the KubeSchedulerConfiguration of the Rebalancer's scheduler: one profile,
// schedulerName, with the default plugins plus RebalancerNodeClassFit at RebalancerWeight and
// args, every node scored (percentageOfNodesToScore 100: a replacement must land where the
// evictor predicted, and replacements arrive at tens a minute, so the scheduler can afford to
// score every node). manifests/scheduler and the chart render the same profile (a test compares
// them); the evictor uses this one when it is given no --scheduler-config.
func RebalancerConfig(schedulerName string, args *configv1.RebalancerNodeClassFitArgs) (*schedconfig.KubeSchedulerConfiguration, error) {
	if args == nil {
		args = &configv1.RebalancerNodeClassFitArgs{}
	}
	a := *args
	a.TypeMeta = configv1.RebalancerNodeClassFitArgs{}.TypeMeta
	argsJSON, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	// YAML takes JSON as a flow value.
	doc := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
profiles:
- schedulerName: %q
  percentageOfNodesToScore: 100
  plugins:
    multiPoint:
      enabled:
      - name: %s
        weight: %d
  pluginConfig:
  - name: %s
    args: %s
`, schedulerName, NodeClassFitName, RebalancerWeight, NodeClassFitName, argsJSON)
	return LoadConfig([]byte(doc))
}

// Configs are the two schedulers an engine places pods for: kube-scheduler's defaults for the
// default scheduler, and ours (the Rebalancer scheduler's built-in profile when nil).
func Configs(ours *schedconfig.KubeSchedulerConfiguration) ([]*schedconfig.KubeSchedulerConfiguration, error) {
	def, err := DefaultConfig()
	if err != nil {
		return nil, err
	}
	if ours == nil {
		if ours, err = RebalancerConfig(v1alpha1.SchedulerName, nil); err != nil {
			return nil, err
		}
	}
	return []*schedconfig.KubeSchedulerConfiguration{def, ours}, nil
}
