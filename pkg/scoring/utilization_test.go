package scoring

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestNodeScore(t *testing.T) {
	cases := []struct {
		name     string
		w        Weights
		usage    Resources
		capacity Resources
		want     float64
	}{
		// u_cpu = 2000/4000 = 0.5, u_mem = 4Gi/16Gi = 0.25; (0.5*0.5 + 0.5*0.25)/1 = 0.375
		{"equal weights", DefaultWeights, Resources{2000, 4 << 30}, Resources{4000, 16 << 30}, 0.375},
		// (1*0.5 + 0*0.25)/1 = 0.5
		{"cpu only", Weights{CPU: 1}, Resources{2000, 4 << 30}, Resources{4000, 16 << 30}, 0.5},
		// (1*0.5 + 3*0.25)/4 = 1.25/4 = 0.3125: weights need not add up to 1
		{"unnormalised weights", Weights{CPU: 1, Memory: 3}, Resources{2000, 4 << 30}, Resources{4000, 16 << 30}, 0.3125},
		// both weights 0 fall back to the plain mean: (0.5+0.25)/2 = 0.375
		{"zero weights", Weights{}, Resources{2000, 4 << 30}, Resources{4000, 16 << 30}, 0.375},
		// u_cpu = 5000/4000 = 1.25 (over allocatable), u_mem = 0; 0.5*1.25 = 0.625
		{"over allocatable", DefaultWeights, Resources{5000, 0}, Resources{4000, 16 << 30}, 0.625},
		// no memory capacity but memory used counts as full: (0.5*0 + 0.5*1) = 0.5
		{"no capacity, used", DefaultWeights, Resources{0, 1}, Resources{4000, 0}, 0.5},
		// no capacity and nothing used counts as idle
		{"no capacity, idle", DefaultWeights, Resources{0, 0}, Resources{0, 0}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.NodeScore(tc.usage, tc.capacity); !near(got, tc.want) {
				t.Errorf("NodeScore = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCapacityFactor(t *testing.T) {
	// A Raspberry Pi 4 (factor 0.5) with 4000m allocatable offers 2000 reference millicores. A pod
	// measured at 1000m there needs 500 reference millicores; on a server (factor 1) with 4000m it
	// would be 500/4000 = 12.5% of the node, on the Pi 500/2000 = 25%, the same as measured.
	pi := Capacity(Resources{CPU: 4000, Memory: 4 << 30}, 0.5)
	server := Capacity(Resources{CPU: 4000, Memory: 16 << 30}, 1)
	pod := ToReference(Resources{CPU: 1000, Memory: 1 << 30}, 0.5)
	if pi.CPU != 2000 || pi.Memory != 4<<30 {
		t.Errorf("Pi capacity = %+v, want 2000 reference millicores and 4Gi", pi)
	}
	if pod.CPU != 500 || pod.Memory != 1<<30 {
		t.Errorf("pod in reference units = %+v, want 500m and 1Gi", pod)
	}
	if got := Utilize(pod, pi).CPU; !near(got, 0.25) {
		t.Errorf("on the Pi: u_cpu = %v, want 0.25 (as measured: 1000m of 4000m)", got)
	}
	if got := Utilize(pod, server).CPU; !near(got, 0.125) {
		t.Errorf("on the server: u_cpu = %v, want 0.125", got)
	}
}

func TestPressure(t *testing.T) {
	capacity := Resources{CPU: 4000, Memory: 8 << 30}
	usage := Resources{CPU: 600, Memory: 7.36 * (1 << 30)} // CPU 0.15, memory 0.92
	cases := []struct {
		name string
		w    Weights
		want float64
	}{
		{"both weighted: the busier", Weights{CPU: 0.5, Memory: 0.5}, 0.92},
		{"memory not weighted: CPU only", Weights{CPU: 1}, 0.15},
		{"CPU not weighted: memory only", Weights{Memory: 1}, 0.92},
		{"no weight: the busier", Weights{}, 0.92},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Pressure(usage, capacity); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Pressure = %v, want %v", got, tc.want)
			}
		})
	}
}
