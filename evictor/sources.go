package evictor

import (
	"fmt"
	"net/http"
	"sync"

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

	mu    sync.Mutex
	proms map[string]usage.Source
}

// SourceFor returns the policy's source.
func (s *Sources) SourceFor(p *v1alpha1.RebalancePolicy) (usage.Source, error) {
	m := p.Spec.Metrics
	if m == nil || m.Source != v1alpha1.UsageSourcePrometheus {
		if s.MetricsServer == nil {
			return nil, fmt.Errorf("no metrics.k8s.io client configured")
		}
		return s.MetricsServer, nil
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
