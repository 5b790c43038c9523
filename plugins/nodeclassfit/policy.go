package nodeclassfit

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// statusFreshIntervals is how many of the policy's intervals the evictor's published
// classification stays authoritative after its last cycle. Past that the evictor is taken to be
// down, and the plugin classifies nodes itself from the same inputs.
const statusFreshIntervals = 3

// policy is what the plugin takes from the RebalancePolicy it follows, with the API's defaults
// applied where the object leaves a field unset (as the evictor does).
type policy struct {
	found      bool
	weights    scoring.Weights
	hysteresis scoring.Hysteresis
	// valid is false when the spec cannot classify (cold not below hot, a bad node selector):
	// the evictor then evicts nothing, and the plugin calls no node hot on its own.
	valid        bool
	nodeSelector labels.Selector
	staleAfter   time.Duration
	interval     time.Duration
	metrics      v1alpha1.MetricsSource

	// The evictor's classification from status, and when its cycle finished (zero if never).
	hot, cold     sets.Set[string]
	lastCycleTime time.Time
}

func parsePolicy(p *v1alpha1.RebalancePolicy) policy {
	out := policy{
		weights: scoring.Weights{CPU: v1alpha1.DefaultWeightCPU, Memory: v1alpha1.DefaultWeightMemory},
		hysteresis: scoring.Hysteresis{
			Hot: v1alpha1.DefaultHotThreshold, Cold: v1alpha1.DefaultColdThreshold,
			Margin: v1alpha1.DefaultHysteresisMargin, Consecutive: v1alpha1.DefaultConsecutiveReadings,
		},
		valid:        true,
		nodeSelector: labels.Everything(),
		staleAfter:   v1alpha1.DefaultStaleAfter,
		interval:     v1alpha1.DefaultInterval,
		metrics:      v1alpha1.MetricsSource{Source: v1alpha1.DefaultUsageSource},
	}
	if p == nil {
		return out
	}
	out.found = true
	s := &p.Spec
	if w := s.Weights; w != nil {
		out.weights = scoring.Weights{CPU: ptr.Deref(w.CPU, v1alpha1.DefaultWeightCPU), Memory: ptr.Deref(w.Memory, v1alpha1.DefaultWeightMemory)}
	}
	out.hysteresis = out.hysteresis.WithThresholds(s.Thresholds)
	if h := s.Hysteresis; h != nil {
		out.hysteresis.Margin = ptr.Deref(h.Margin, v1alpha1.DefaultHysteresisMargin)
		if h.ConsecutiveReadings > 0 {
			out.hysteresis.Consecutive = h.ConsecutiveReadings
		}
	}
	if out.hysteresis.Cold >= out.hysteresis.Hot {
		out.valid = false
	}
	if s.NodeSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.NodeSelector)
		if err != nil {
			out.valid, sel = false, labels.Nothing()
		}
		out.nodeSelector = sel
	}
	if m := s.Metrics; m != nil {
		out.metrics = *m.DeepCopy()
		if out.metrics.Source == "" {
			out.metrics.Source = v1alpha1.DefaultUsageSource
		}
		if m.StaleAfter != nil && m.StaleAfter.Duration > 0 {
			out.staleAfter = m.StaleAfter.Duration
		}
	}
	if s.Interval != nil && s.Interval.Duration > 0 {
		out.interval = s.Interval.Duration
	}
	out.hot = sets.New(p.Status.HotNodeNames...)
	out.cold = sets.New(p.Status.ColdNodeNames...)
	if p.Status.LastCycleTime != nil {
		out.lastCycleTime = p.Status.LastCycleTime.Time
	}
	return out
}

// statusFresh reports whether the evictor's published classification is recent enough to follow:
//
//	fresh = lastCycleTime is set and now - lastCycleTime <= 3 x spec.interval
func (p *policy) statusFresh(now time.Time) bool {
	return p.found && !p.lastCycleTime.IsZero() && now.Sub(p.lastCycleTime) <= statusFreshIntervals*p.interval
}

// thresholdsFor returns the hysteresis for a node of class c: a NodeClass's thresholds replace the
// policy's, unset ones taking the API defaults (as in the evictor).
func (p *policy) thresholdsFor(c *scoring.NodeClass) scoring.Hysteresis {
	if c == nil {
		return p.hysteresis
	}
	return p.hysteresis.WithThresholds(c.Thresholds)
}
