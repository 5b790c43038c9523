package scoring

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Judgement is how a RebalancePolicy judges nodes: the weights of CPU and memory, the hot and
// cold thresholds with their hysteresis, which nodes it balances, and which readings it trusts.
// ResolvePolicy is the one place a policy becomes a Judgement; the planner, the scheduler's
// plugin and the what-if simulator all call it, so they call the same nodes hot.
type Judgement struct {
	Weights    Weights
	Hysteresis Hysteresis
	// NodeSelector selects the nodes the policy balances (every node when unset).
	NodeSelector labels.Selector
	// StaleAfter is the age past which a reading is not trusted.
	StaleAfter time.Duration
	// Interval is the time between the evictor's cycles.
	Interval time.Duration
	// Metrics is the usage source, with the default source filled in.
	Metrics v1alpha1.MetricsSource
}

// For returns the hysteresis for a node of class c (nil: no class): a NodeClass's thresholds
// replace the policy's, unset ones taking the API's defaults.
func (j *Judgement) For(c *NodeClass) Hysteresis {
	if c == nil {
		return j.Hysteresis
	}
	return j.Hysteresis.WithThresholds(c.Thresholds)
}

// ResolvePolicy returns how the policy judges nodes, with the API's defaults where the object
// leaves a field unset (objects read from files are not defaulted by the API server). p nil is
// the defaults. A spec that cannot classify (cold not below hot, a node selector that does not
// parse) returns the Judgement with a selector of no node, and an error that says why.
func ResolvePolicy(p *v1alpha1.RebalancePolicy) (Judgement, error) {
	j := Judgement{
		Weights: Weights{CPU: v1alpha1.DefaultWeightCPU, Memory: v1alpha1.DefaultWeightMemory},
		Hysteresis: Hysteresis{
			Hot: v1alpha1.DefaultHotThreshold, Cold: v1alpha1.DefaultColdThreshold,
			Margin: v1alpha1.DefaultHysteresisMargin, Consecutive: v1alpha1.DefaultConsecutiveReadings,
		},
		NodeSelector: labels.Everything(),
		StaleAfter:   v1alpha1.DefaultStaleAfter,
		Interval:     v1alpha1.DefaultInterval,
		Metrics:      v1alpha1.MetricsSource{Source: v1alpha1.DefaultUsageSource},
	}
	if p == nil {
		return j, nil
	}
	s := &p.Spec
	if w := s.Weights; w != nil {
		j.Weights = Weights{CPU: ptr.Deref(w.CPU, v1alpha1.DefaultWeightCPU), Memory: ptr.Deref(w.Memory, v1alpha1.DefaultWeightMemory)}
	}
	j.Hysteresis = j.Hysteresis.WithThresholds(s.Thresholds)
	if h := s.Hysteresis; h != nil {
		j.Hysteresis.Margin = ptr.Deref(h.Margin, v1alpha1.DefaultHysteresisMargin)
		if h.ConsecutiveReadings > 0 {
			j.Hysteresis.Consecutive = h.ConsecutiveReadings
		}
	}
	if m := s.Metrics; m != nil {
		j.Metrics = *m.DeepCopy()
		if j.Metrics.Source == "" {
			j.Metrics.Source = v1alpha1.DefaultUsageSource
		}
		j.StaleAfter = v1alpha1.Duration(m.StaleAfter, v1alpha1.DefaultStaleAfter)
	}
	j.Interval = v1alpha1.Duration(s.Interval, v1alpha1.DefaultInterval)
	if s.NodeSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.NodeSelector)
		if err != nil {
			j.NodeSelector = labels.Nothing()
			return j, fmt.Errorf("spec.nodeSelector: %w", err)
		}
		j.NodeSelector = sel
	}
	if j.Hysteresis.Cold >= j.Hysteresis.Hot {
		j.NodeSelector = labels.Nothing()
		return j, fmt.Errorf("spec.thresholds: cold (%v) must be lower than hot (%v)", j.Hysteresis.Cold, j.Hysteresis.Hot)
	}
	return j, nil
}
