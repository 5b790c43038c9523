package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults the API server applies (through the +kubebuilder:default markers on the fields). Go code
// that reads an object the API server has not defaulted, such as one built in a test or read from
// a file, falls back to these. A test against the real API server checks that both agree.
const (
	DefaultDryRun                      = true
	DefaultWeightCPU                   = 0.5
	DefaultWeightMemory                = 0.5
	DefaultHotThreshold                = 0.75
	DefaultColdThreshold               = 0.35
	DefaultHysteresisMargin            = 0.05
	DefaultConsecutiveReadings         = 3
	DefaultMinSigmaImprovement         = 0.0
	DefaultDestinations                = DestinationsCold
	DefaultMaxEvictionsPerCycle        = 5
	DefaultMaxEvictionsPerNodePerCycle = 2
	DefaultMaxEvictionsPerHour         = 30
	DefaultPodBackoff                  = 30 * time.Minute
	DefaultPriorityThreshold           = 100000
	DefaultMaxLocalStorage             = "1Gi"
	DefaultMinPodAge                   = 5 * time.Minute
	DefaultUsageSource                 = UsageSourceMetricsServer
	DefaultStaleAfter                  = 3 * time.Minute
	DefaultInterval                    = time.Minute

	DefaultSLOMaxDisruptionsPerHour = 1
	DefaultSLOReadinessWindow       = 5 * time.Minute

	DefaultNodeClassWeight         = 50
	DefaultNodeClassCapacityFactor = 1.0
)

// Duration is the one rule for optional durations: unset (nil) is def; a set value is taken as
// written, zero included ("podBackoff: 0" is no backoff, in the planner and the executor alike).
// The API server rejects what would not work (a negative value, an interval under 10s, a
// staleAfter of 0); code that reads objects the API server has not validated checks those itself.
func Duration(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}
