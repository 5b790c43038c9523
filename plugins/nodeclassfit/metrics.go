package nodeclassfit

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinorodney/rebalancer/pkg/metrics"
)

// registerMetrics registers the scheduler's metrics from pkg/metrics into r, once per registry.
// kube-scheduler builds one plugin per profile that enables it, each calling this; the first
// registers, and the others find the same collectors through prometheus.AlreadyRegisteredError
// and share them. The registry is the only thing that remembers, so there is no package-level
// state here, and a test that passes its own registry gets its own metrics.
func registerMetrics(r prometheus.Registerer) (*metrics.Scheduler, error) {
	m := metrics.NewScheduler()
	placements, err := register(r, m.Placements)
	if err != nil {
		return nil, err
	}
	duration, err := register(r, m.ScoreDuration)
	if err != nil {
		return nil, err
	}
	info, err := register(r, m.BuildInfo)
	if err != nil {
		return nil, err
	}
	m.Placements, m.ScoreDuration, m.BuildInfo = placements, duration, info
	return m, nil
}

func register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	err := r.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		return c, fmt.Errorf("registering metrics: %w", err)
	}
	existing, ok := are.ExistingCollector.(C)
	if !ok {
		return c, fmt.Errorf("registering metrics: a collector of another type (%T) is already registered under the same name", are.ExistingCollector)
	}
	return existing, nil
}
