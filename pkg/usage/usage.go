// Package usage reads what nodes and pods really use, from metrics-server (the metrics.k8s.io
// API) or from Prometheus. The evictor and the scheduler's collector both read through it, so
// they see the same numbers. Every reading carries the time it was taken; judging staleness is
// the caller's business (the planner leaves out nodes whose reading is older than staleAfter).
package usage

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Sample is one reading: CPU in millicores of the machine it was measured on, memory
// (working set) in bytes, and when it was taken.
type Sample struct {
	MilliCPU float64
	Memory   float64
	Time     time.Time
}

// Readings are the latest samples of every node and pod a source knows.
type Readings struct {
	Nodes map[string]Sample
	Pods  map[types.NamespacedName]Sample
}

// Source reads usage. An error means the source could not be read at all; missing nodes or pods
// are simply absent from the readings.
type Source interface {
	Read(ctx context.Context) (Readings, error)
}

// PodScoped is a Source that can read only the pods a label selector matches (its node readings
// stay complete).
type PodScoped interface {
	Source
	ForPods(selector labels.Selector) Source
}

// Static is a Source that returns fixed readings or a fixed error: for tests, and for the what-if
// command that reads a dump.
type Static struct {
	Readings Readings
	Err      error
}

// Read returns the fixed readings.
func (s *Static) Read(context.Context) (Readings, error) {
	return s.Readings, s.Err
}

func newReadings() Readings {
	return Readings{Nodes: map[string]Sample{}, Pods: map[types.NamespacedName]Sample{}}
}
