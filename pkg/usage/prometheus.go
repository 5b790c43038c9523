package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Default PromQL queries: node-exporter for nodes (mapped to node names through kube-state-metrics'
// kube_pod_info, as kube-prometheus records it) and cAdvisor for pods. CPU is in cores, memory in
// bytes.
const (
	DefaultNodeCPUQuery    = `sum by (node) (rate(node_cpu_seconds_total{mode!~"idle|iowait|steal"}[5m]) * on (namespace, pod) group_left (node) node_namespace_pod:kube_pod_info:)`
	DefaultNodeMemoryQuery = `sum by (node) ((node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes) * on (namespace, pod) group_left (node) node_namespace_pod:kube_pod_info:)`
	DefaultPodCPUQuery     = `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="", container!="POD"}[5m]))`
	DefaultPodMemoryQuery  = `sum by (namespace, pod) (container_memory_working_set_bytes{container!="", container!="POD"})`
)

// Queries are the four PromQL queries a Prometheus source runs. Empty ones take the defaults.
type Queries struct {
	NodeCPU, NodeMemory, PodCPU, PodMemory string
}

func (q Queries) withDefaults() Queries {
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	return Queries{
		NodeCPU: def(q.NodeCPU, DefaultNodeCPUQuery), NodeMemory: def(q.NodeMemory, DefaultNodeMemoryQuery),
		PodCPU: def(q.PodCPU, DefaultPodCPUQuery), PodMemory: def(q.PodMemory, DefaultPodMemoryQuery),
	}
}

// Prometheus reads usage with PromQL instant queries. A sample's time is the timestamp Prometheus
// returns for it.
type Prometheus struct {
	api     promv1.API
	queries Queries
	clock   clock.PassiveClock
}

// NewPrometheus builds a source for the Prometheus server at address (http or https URL).
// roundTripper may be nil for the default transport.
func NewPrometheus(address string, q Queries, roundTripper http.RoundTripper, clk clock.PassiveClock) (*Prometheus, error) {
	if roundTripper == nil {
		roundTripper = promapi.DefaultRoundTripper
	}
	c, err := promapi.NewClient(promapi.Config{Address: address, RoundTripper: roundTripper})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return &Prometheus{api: promv1.NewAPI(c), queries: q.withDefaults(), clock: clk}, nil
}

// Read runs the four queries.
func (p *Prometheus) Read(ctx context.Context) (Readings, error) {
	out := newReadings()
	now := p.clock.Now()
	type target struct {
		query string
		set   func(m model.Metric, v float64, t time.Time) error
	}
	node := func(f func(*Sample, float64)) func(model.Metric, float64, time.Time) error {
		return func(m model.Metric, v float64, t time.Time) error {
			name := string(m["node"])
			if name == "" {
				return errors.New(`a node query returned a series without a "node" label`)
			}
			s := out.Nodes[name]
			f(&s, v)
			s.Time = t
			out.Nodes[name] = s
			return nil
		}
	}
	pod := func(f func(*Sample, float64)) func(model.Metric, float64, time.Time) error {
		return func(m model.Metric, v float64, t time.Time) error {
			key := types.NamespacedName{Namespace: string(m["namespace"]), Name: string(m["pod"])}
			if key.Namespace == "" || key.Name == "" {
				return errors.New(`a pod query returned a series without "namespace" and "pod" labels`)
			}
			s := out.Pods[key]
			f(&s, v)
			s.Time = t
			out.Pods[key] = s
			return nil
		}
	}
	cpu := func(s *Sample, v float64) { s.MilliCPU = v * 1000 }
	mem := func(s *Sample, v float64) { s.Memory = v }
	for _, tg := range []target{
		{p.queries.NodeCPU, node(cpu)}, {p.queries.NodeMemory, node(mem)},
		{p.queries.PodCPU, pod(cpu)}, {p.queries.PodMemory, pod(mem)},
	} {
		val, _, _, err := p.api.Query(ctx, tg.query, now)
		if err != nil {
			return out, fmt.Errorf("prometheus query %q: %w", tg.query, err)
		}
		vec, ok := val.(model.Vector)
		if !ok {
			return out, fmt.Errorf("prometheus query %q returned %s, want an instant vector", tg.query, val.Type())
		}
		for _, smp := range vec {
			if err := tg.set(smp.Metric, float64(smp.Value), smp.Timestamp.Time()); err != nil {
				return out, fmt.Errorf("prometheus query %q: %w", tg.query, err)
			}
		}
	}
	return out, nil
}
