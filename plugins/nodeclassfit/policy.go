package nodeclassfit

import (
	"time"

	"k8s.io/apimachinery/pkg/util/sets"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/scoring"
)

// statusFreshIntervals is how many of the policy's intervals the evictor's published
// classification stays authoritative after its last cycle. Past that the evictor is taken to be
// down, and the plugin classifies nodes itself from the same inputs.
const statusFreshIntervals = 3

// policy is what the plugin takes from the RebalancePolicy it follows: how it judges nodes
// (scoring.ResolvePolicy, as the evictor's planner and the simulator resolve it) and the
// evictor's classification from its status.
type policy struct {
	found bool
	scoring.Judgement
	// valid is false when the spec cannot classify (cold not below hot, a bad node selector):
	// the evictor then evicts nothing, and the plugin calls no node hot on its own.
	valid bool

	// The evictor's classification from status, and when its cycle finished (zero if never).
	hot, cold     sets.Set[string]
	lastCycleTime time.Time
}

func parsePolicy(p *v1alpha1.RebalancePolicy) policy {
	j, err := scoring.ResolvePolicy(p)
	out := policy{found: p != nil, Judgement: j, valid: err == nil}
	if p == nil {
		return out
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
	return p.found && !p.lastCycleTime.IsZero() && now.Sub(p.lastCycleTime) <= statusFreshIntervals*p.Interval
}
