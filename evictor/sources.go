package evictor

import (
	"fmt"
	"net/http"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// SourceFactory returns the usage source a policy asks for.
type SourceFactory interface {
	SourceFor(p *v1alpha1.RebalancePolicy) (usage.Source, error)
}

// Sources builds and caches one source per configuration: the shared metrics-server source, and a
// Prometheus source per address and query set.
type Sources struct {
	MetricsServer usage.Source
	// PrometheusAddress (the --prometheus-address flag) serves policies whose source is
	// prometheus and whose spec names no address.
	PrometheusAddress string
	RoundTripper      http.RoundTripper
	Clock             clock.PassiveClock

	mu     sync.Mutex
	proms  map[string]usage.Source
	scopes map[string]usage.Source
}

// scoped is the metrics-server source limited to the pods the policy selects: the planner reads
// only their readings (a candidate's own usage, its workload's mean for the replacement). A
// selector that does not parse gets the unscoped source (the planner refuses the policy anyway).
func (s *Sources) scoped(p *v1alpha1.RebalancePolicy) usage.Source {
	ps, ok := s.MetricsServer.(usage.PodScoped)
	if !ok || p.Spec.PodSelector == nil {
		return s.MetricsServer
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.PodSelector)
	if err != nil || sel.Empty() {
		return s.MetricsServer
	}
	key := sel.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.scopes[key]; ok {
		return src
	}
	if s.scopes == nil {
		s.scopes = map[string]usage.Source{}
	}
	s.scopes[key] = ps.ForPods(sel)
	return s.scopes[key]
}

// SourceFor returns the policy's source.
func (s *Sources) SourceFor(p *v1alpha1.RebalancePolicy) (usage.Source, error) {
	m := p.Spec.Metrics
	if m == nil || m.Source != v1alpha1.UsageSourcePrometheus {
		if s.MetricsServer == nil {
			return nil, fmt.Errorf("no metrics.k8s.io client configured")
		}
		return s.scoped(p), nil
	}
	address := s.PrometheusAddress
	var q usage.Queries
	if pm := m.Prometheus; pm != nil {
		if pm.Address != "" {
			address = pm.Address
		}
		if pq := pm.Queries; pq != nil {
			q = usage.Queries{NodeCPU: pq.NodeCPU, NodeMemory: pq.NodeMemory, PodCPU: pq.PodCPU, PodMemory: pq.PodMemory}
		}
	}
	if address == "" {
		return nil, fmt.Errorf("metrics.source is prometheus but neither spec.metrics.prometheus.address nor the evictor's --prometheus-address names a server")
	}
	key := fmt.Sprintf("%s\x00%+v", address, q)
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.proms[key]; ok {
		return src, nil
	}
	clk := s.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	src, err := usage.NewPrometheus(address, q, s.RoundTripper, clk)
	if err != nil {
		return nil, err
	}
	if s.proms == nil {
		s.proms = map[string]usage.Source{}
	}
	s.proms[key] = src
	return src, nil
}
