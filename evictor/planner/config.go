package planner

import (
	"fmt"
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
	"github.com/tinorodney/rebalancer/pkg/windows"
)

// Config is a RebalancePolicy's spec resolved to plain values: defaults filled in for fields the
// API server did not default (objects from files or tests), selectors parsed, the priority
// threshold looked up.
type Config struct {
	DryRun            bool
	PodSelector       labels.Selector
	NamespaceSelector labels.Selector // nil: every namespace
	IncludeNamespaces map[string]bool // empty: every namespace
	ExcludeNamespaces map[string]bool
	NodeSelector      labels.Selector
	Weights           scoring.Weights
	Hysteresis        scoring.Hysteresis
	MinSigmaGain      float64
	// ColdDestinations: a move is made only when the replacement is predicted on a cold node.
	ColdDestinations  bool
	MaxPerCycle       int
	MaxPerNodeCycle   int
	MaxPerHour        int
	NamespaceBudgets  map[string]int
	PodBackoff        time.Duration
	PriorityThreshold int32
	MaxLocalStorage   int64
	PinnedAnnotation  string
	MinPodAge         time.Duration
	StaleAfter        time.Duration
	// Windows are the policy's disruption windows; with none, the policy may always evict.
	Windows windows.Schedule
}

// Resolve turns a policy into a Config. A spec that passed the API's validation but cannot work
// (an unknown PriorityClass, a selector that does not parse) returns a Blocker for the
// ConfigValid condition.
func Resolve(p *v1alpha1.RebalancePolicy, priorityClasses []*schedulingv1.PriorityClass) (Config, error) {
	s := &p.Spec
	// How the policy judges nodes: the same resolution the scheduler's plugin and the simulator use.
	j, jerr := scoring.ResolvePolicy(p)
	c := Config{
		DryRun:            deref(s.DryRun, v1alpha1.DefaultDryRun),
		Weights:           j.Weights,
		Hysteresis:        j.Hysteresis,
		NodeSelector:      j.NodeSelector,
		StaleAfter:        j.StaleAfter,
		MinSigmaGain:      deref(s.MinSigmaImprovement, v1alpha1.DefaultMinSigmaImprovement),
		ColdDestinations:  deref(s.Destinations, v1alpha1.DefaultDestinations) == v1alpha1.DestinationsCold,
		MaxPerCycle:       v1alpha1.DefaultMaxEvictionsPerCycle,
		MaxPerNodeCycle:   v1alpha1.DefaultMaxEvictionsPerNodePerCycle,
		MaxPerHour:        v1alpha1.DefaultMaxEvictionsPerHour,
		NamespaceBudgets:  map[string]int{},
		PodBackoff:        v1alpha1.Duration(s.PodBackoff, v1alpha1.DefaultPodBackoff),
		PriorityThreshold: v1alpha1.DefaultPriorityThreshold,
		PinnedAnnotation:  v1alpha1.DefaultPinnedAnnotation,
		MinPodAge:         v1alpha1.DefaultMinPodAge,
		IncludeNamespaces: map[string]bool{},
		ExcludeNamespaces: map[string]bool{},
	}
	maxLocal := resource.MustParse(v1alpha1.DefaultMaxLocalStorage)

	var err error
	podSel := s.PodSelector
	if podSel == nil {
		podSel = &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.OptInLabelKey: v1alpha1.OptInLabelValue}}
	}
	if c.PodSelector, err = metav1.LabelSelectorAsSelector(podSel); err != nil {
		return c, invalid(v1alpha1.ReasonInvalid, "spec.podSelector: %v", err)
	}
	if s.NamespaceSelector != nil {
		if c.NamespaceSelector, err = metav1.LabelSelectorAsSelector(s.NamespaceSelector); err != nil {
			return c, invalid(v1alpha1.ReasonInvalid, "spec.namespaceSelector: %v", err)
		}
	}
	if jerr != nil {
		return c, invalid(v1alpha1.ReasonInvalid, "%v", jerr)
	}
	if s.Namespaces != nil {
		for _, n := range s.Namespaces.Include {
			c.IncludeNamespaces[n] = true
		}
		for _, n := range s.Namespaces.Exclude {
			c.ExcludeNamespaces[n] = true
		}
	}
	if r := s.RateLimits; r != nil {
		c.MaxPerCycle = int(deref(r.MaxEvictionsPerCycle, v1alpha1.DefaultMaxEvictionsPerCycle))
		c.MaxPerNodeCycle = int(deref(r.MaxEvictionsPerNodePerCycle, v1alpha1.DefaultMaxEvictionsPerNodePerCycle))
		c.MaxPerHour = int(deref(r.MaxEvictionsPerHour, v1alpha1.DefaultMaxEvictionsPerHour))
	}
	for _, b := range s.NamespaceBudgets {
		c.NamespaceBudgets[b.Namespace] = int(b.MaxDisruptionsPerHour)
	}
	if sf := s.Safety; sf != nil {
		if pt := sf.PriorityThreshold; pt != nil {
			switch {
			case pt.Value != nil:
				c.PriorityThreshold = *pt.Value
			case pt.Name != "":
				v, ok := priorityClassValue(priorityClasses, pt.Name)
				if !ok {
					return c, invalid(v1alpha1.ReasonUnknownPriorityClass,
						"spec.safety.priorityThreshold.name: PriorityClass %q does not exist; nothing is evicted until it does or the policy names another", pt.Name)
				}
				c.PriorityThreshold = v
			}
		}
		if sf.MaxLocalStorage != nil {
			maxLocal = *sf.MaxLocalStorage
		}
		if sf.PinnedAnnotation != "" {
			c.PinnedAnnotation = sf.PinnedAnnotation
		}
		c.MinPodAge = v1alpha1.Duration(sf.MinPodAge, v1alpha1.DefaultMinPodAge)
	}
	c.MaxLocalStorage = maxLocal.Value()
	if c.Windows, err = windows.Parse(s.DisruptionWindows); err != nil {
		return c, invalid(v1alpha1.ReasonInvalidDisruptionWindow, "%v; nothing is evicted until it is fixed", err)
	}
	return c, nil
}

func invalid(reason, format string, args ...any) Blocker {
	return Blocker{Condition: v1alpha1.ConditionConfigValid, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func priorityClassValue(pcs []*schedulingv1.PriorityClass, name string) (int32, bool) {
	for _, pc := range pcs {
		if pc.Name == name {
			return pc.Value, true
		}
	}
	return 0, false
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
