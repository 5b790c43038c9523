package scoring

// Requests are a pod's (or a node's summed) resource requests as the scheduler counts them:
// CPU in millicores, memory in bytes.
type Requests struct {
	MilliCPU int64
	Memory   int64
}

// Add returns r + o.
func (r Requests) Add(o Requests) Requests {
	return Requests{MilliCPU: r.MilliCPU + o.MilliCPU, Memory: r.Memory + o.Memory}
}

// Sub returns r - o.
func (r Requests) Sub(o Requests) Requests {
	return Requests{MilliCPU: r.MilliCPU - o.MilliCPU, Memory: r.Memory - o.Memory}
}

// The scheduler scores a container that requests nothing as if it asked for these, so a node
// full of request-less pods does not look empty (kube-scheduler's non-zero defaults).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// NonZero replaces a zero request with the scheduler's default for scoring.
func (r Requests) NonZero() Requests {
	if r.MilliCPU == 0 {
		r.MilliCPU = DefaultMilliCPURequest
	}
	if r.Memory == 0 {
		r.Memory = DefaultMemoryRequest
	}
	return r
}

// DefaultSchedulerScore models where the default kube-scheduler puts a pod: the sum of
// NodeResourcesFit with the LeastAllocated strategy and NodeResourcesBalancedAllocation, each
// from 0 to MaxScore with equal plugin weights, over requests (never usage). requested is the
// node's summed requests before the pod, pod the pod's requests, both made NonZero by the caller
// when modelling scoring.
//
//	f_r           = (requested_r + pod_r) / allocatable_r
//	leastAlloc    = MaxScore x mean_r(1 - f_r), with 1 - f_r clamped to [0, 1]
//	balanced      = MaxScore x (1 - |f_cpu - f_mem| / 2), f_r capped at 1
//	score         = leastAlloc + balanced          (0 .. 2 x MaxScore)
func DefaultSchedulerScore(requested, pod, allocatable Requests) int64 {
	fc := fraction(requested.MilliCPU+pod.MilliCPU, allocatable.MilliCPU)
	fm := fraction(requested.Memory+pod.Memory, allocatable.Memory)
	// The in-tree plugins work in integers, truncating each step; follow them.
	least := ((100 - pct(fc)) + (100 - pct(fm))) / 2
	d := fc - fm
	if d < 0 {
		d = -d
	}
	balanced := int64((1 - d/2) * float64(MaxScore))
	return least + balanced
}

// fraction is used/allocatable capped at 1; no allocatable counts as full.
func fraction(used, allocatable int64) float64 {
	if allocatable <= 0 || used >= allocatable {
		return 1
	}
	if used <= 0 {
		return 0
	}
	return float64(used) / float64(allocatable)
}

func pct(f float64) int64 {
	return int64(f * float64(MaxScore))
}
