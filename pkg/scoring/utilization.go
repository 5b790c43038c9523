package scoring

// Resources is an amount of CPU (reference millicores) and memory (bytes).
type Resources struct {
	CPU    float64
	Memory float64
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPU: r.CPU + o.CPU, Memory: r.Memory + o.Memory}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPU: r.CPU - o.CPU, Memory: r.Memory - o.Memory}
}

// ToReference converts CPU measured on a node of the given capacity factor into reference
// millicores; memory is unchanged.
//
//	reference CPU = measured CPU x capacityFactor
func ToReference(measured Resources, capacityFactor float64) Resources {
	return Resources{CPU: measured.CPU * capacityFactor, Memory: measured.Memory}
}

// Capacity is what a node offers in reference units.
//
//	capacity CPU = allocatable CPU x capacityFactor, capacity memory = allocatable memory
func Capacity(allocatable Resources, capacityFactor float64) Resources {
	return ToReference(allocatable, capacityFactor)
}

// Utilization is usage over capacity, per resource. It can exceed 1 when usage is above
// allocatable (system daemons, bursting pods).
type Utilization struct {
	CPU    float64
	Memory float64
}

// Utilize computes per-resource utilisation. A resource with no capacity counts as fully used
// when anything uses it and as idle otherwise, so a node without memory is never a destination.
//
//	u_cpu = usage_cpu / capacity_cpu,  u_mem = usage_mem / capacity_mem
func Utilize(usage, capacity Resources) Utilization {
	return Utilization{CPU: ratio(usage.CPU, capacity.CPU), Memory: ratio(usage.Memory, capacity.Memory)}
}

func ratio(used, capacity float64) float64 {
	if capacity <= 0 {
		if used > 0 {
			return 1
		}
		return 0
	}
	return used / capacity
}

// Weights weigh CPU against memory. They need not add up to 1.
type Weights struct {
	CPU    float64
	Memory float64
}

// DefaultWeights weigh CPU and memory equally, as the API's defaults do.
var DefaultWeights = Weights{CPU: 0.5, Memory: 0.5}

// Score is a node's utilisation score, the weighted mean of its per-resource utilisation. Weights
// that are both 0 (rejected by the API) fall back to equal weights.
//
//	score = (w_cpu x u_cpu + w_mem x u_mem) / (w_cpu + w_mem)
func (w Weights) Score(u Utilization) float64 {
	sum := w.CPU + w.Memory
	if sum <= 0 {
		return (u.CPU + u.Memory) / 2
	}
	return (w.CPU*u.CPU + w.Memory*u.Memory) / sum
}

// NodeScore is Score(Utilize(usage, capacity)).
func (w Weights) NodeScore(usage, capacity Resources) float64 {
	return w.Score(Utilize(usage, capacity))
}

// Pressure is the utilisation of the node's busiest resource among those with a weight; hot is
// decided on it, so a node full on one resource is hot however idle the other is (a Raspberry Pi
// with its memory full and its CPU idle scores about 0.5 and would otherwise never be relieved):
//
//	pressure = max(u_r for each resource r with w_r > 0)   (both when no weight is set)
func (w Weights) Pressure(usage, capacity Resources) float64 {
	u := Utilize(usage, capacity)
	if w.CPU <= 0 && w.Memory <= 0 {
		return max(u.CPU, u.Memory)
	}
	p := 0.0
	if w.CPU > 0 {
		p = u.CPU
	}
	if w.Memory > 0 {
		p = max(p, u.Memory)
	}
	return p
}
