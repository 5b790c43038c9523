package scoring

import "testing"

func TestPlacementScore(t *testing.T) {
	const gi = 1 << 30
	capacity := Resources{CPU: 4000, Memory: 16 * gi}
	cases := []struct {
		name string
		node PlacementNode
		pod  PlacementPod
		want int64
	}{
		// projected = (0.5*2000/4000 + 0.5*8/16) = 0.5; raw = 0.6*0.5 + 0.1*0.5 + 0.3*0.5 = 0.5
		// score = 10 + round(90*0.5) = 55
		{"half full, no preferences", PlacementNode{Capacity: capacity, Usage: Resources{1000, 4 * gi}, ClassWeight: 0.5},
			PlacementPod{Usage: Resources{1000, 4 * gi}}, 55},
		// raw = 0.6*0.5 + 0.1*0.8 + 0.3*1 = 0.68; score = 10 + round(61.2) = 71
		{"preferred profile", PlacementNode{Capacity: capacity, Usage: Resources{1000, 4 * gi}, ClassWeight: 0.8, Profiles: ProfileSet(0).With(ProfileCPUBound)},
			PlacementPod{Usage: Resources{1000, 4 * gi}, Profile: ProfileCPUBound}, 71},
		// raw = 0.6*0.5 + 0.1*0.8 + 0.3*0 = 0.38; score = 10 + round(34.2) = 44
		{"other profile preferred", PlacementNode{Capacity: capacity, Usage: Resources{1000, 4 * gi}, ClassWeight: 0.8, Profiles: ProfileSet(0).With(ProfileMemoryBound)},
			PlacementPod{Usage: Resources{1000, 4 * gi}, Profile: ProfileCPUBound}, 44},
		// the same preferred node, hot: round(9*0.68) = round(6.12) = 6
		{"hot node stays in the hot band", PlacementNode{Capacity: capacity, Usage: Resources{1000, 4 * gi}, ClassWeight: 0.8, Profiles: ProfileSet(0).With(ProfileCPUBound), Hot: true},
			PlacementPod{Usage: Resources{1000, 4 * gi}, Profile: ProfileCPUBound}, 6},
		// projected = 0.5*5000/4000 + 0.5*17/16 > 1, clamped to 1; raw = 0 + 0.05 + 0.15 = 0.2; score = 10 + 18 = 28
		{"over capacity clamps headroom to 0", PlacementNode{Capacity: capacity, Usage: Resources{4000, 16 * gi}, ClassWeight: 0.5},
			PlacementPod{Usage: Resources{1000, 1 * gi}}, 28},
		// projected = 0.5*1000/4000 + 0.5*1/16 = 0.15625; raw = 0.6*0.84375 + 0.1*1 + 0.3*0.5 = 0.75625
		// score = 10 + round(68.06) = 78
		{"empty node of top weight", PlacementNode{Capacity: capacity, ClassWeight: 1},
			PlacementPod{Usage: Resources{1000, 1 * gi}}, 78},
		// the over-capacity node, cold: 28 + ColdBonus 25 = 53
		{"cold node gets the bonus", PlacementNode{Capacity: capacity, Usage: Resources{4000, 16 * gi}, ClassWeight: 0.5, Cold: true},
			PlacementPod{Usage: Resources{1000, 1 * gi}}, 53},
		// the empty top-weight node, cold: 78 + 25 = 103, capped at 100
		{"cold bonus is capped", PlacementNode{Capacity: capacity, ClassWeight: 1, Cold: true},
			PlacementPod{Usage: Resources{1000, 1 * gi}}, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlacementScore(&tc.node, &tc.pod, DefaultWeights, DefaultPlacementWeights); got != tc.want {
				t.Errorf("PlacementScore = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPlacementScoreHotAlwaysLowest(t *testing.T) {
	// The best possible hot node still scores below the worst possible node that is not hot.
	best := PlacementNode{Capacity: Resources{1, 1}, ClassWeight: 1, Profiles: ProfileSet(0).With(ProfileBalanced), Hot: true}
	worst := PlacementNode{Capacity: Resources{1, 1}, Usage: Resources{10, 10}, ClassWeight: 0, Profiles: ProfileSet(0).With(ProfileCPUBound)}
	pod := PlacementPod{Profile: ProfileBalanced}
	hot, cold := PlacementScore(&best, &pod, DefaultWeights, DefaultPlacementWeights), PlacementScore(&worst, &pod, DefaultWeights, DefaultPlacementWeights)
	if hot >= cold {
		t.Errorf("best hot node scores %d, worst other node %d: hot must be lower", hot, cold)
	}
	if hot < 0 || cold > MaxScore {
		t.Errorf("scores %d and %d out of [0, %d]", hot, cold, MaxScore)
	}
}

func TestProfileMatch(t *testing.T) {
	cpu := ProfileSet(0).With(ProfileCPUBound)
	cases := []struct {
		name string
		set  ProfileSet
		p    Profile
		want float64
	}{
		{"match", cpu, ProfileCPUBound, 1},
		{"mismatch", cpu, ProfileMemoryBound, 0},
		{"pod states none", cpu, ProfileNone, 0.5},
		{"class prefers none", 0, ProfileCPUBound, 0.5},
		{"several preferred", cpu.With(ProfileBalanced), ProfileBalanced, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProfileMatch(tc.set, tc.p); got != tc.want {
				t.Errorf("ProfileMatch = %v, want %v", got, tc.want)
			}
		})
	}
	for name, want := range map[string]Profile{"cpu-bound": ProfileCPUBound, "memory-bound": ProfileMemoryBound, "balanced": ProfileBalanced, "gpu-bound": ProfileNone, "": ProfileNone} {
		if got := ParseProfile(name); got != want {
			t.Errorf("ParseProfile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDefaultSchedulerScore(t *testing.T) {
	const gi = 1 << 30
	alloc := Requests{MilliCPU: 4000, Memory: 16 * gi}
	cases := []struct {
		name      string
		requested Requests
		pod       Requests
		want      int64
	}{
		// f = 0.5, 0.5; least = (50+50)/2 = 50; balanced = (1-0)*100 = 100
		{"half", Requests{1000, 4 * gi}, Requests{1000, 4 * gi}, 150},
		// f = 0.25, 0.0625; least = (75 + 93)/2 = 84; balanced = (1 - 0.1875/2)*100 = 90.625 -> 90
		{"light", Requests{500, 0}, Requests{500, 1 * gi}, 174},
		// f_cpu capped at 1, f_mem = 0.25; least = (0 + 75)/2 = 37; balanced = (1 - 0.75/2)*100 = 62.5 -> 62
		{"cpu full", Requests{3000, 2 * gi}, Requests{1000, 2 * gi}, 99},
		// f = 0, 0 is impossible with a non-zero pod; an empty node and a tiny pod: f ~ 0 -> 100 + 100
		{"empty", Requests{}, Requests{1, 1}, 199},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultSchedulerScore(tc.requested, tc.pod, alloc); got != tc.want {
				t.Errorf("DefaultSchedulerScore = %d, want %d", got, tc.want)
			}
		})
	}
	if got := (Requests{}).NonZero(); got != (Requests{MilliCPU: DefaultMilliCPURequest, Memory: DefaultMemoryRequest}) {
		t.Errorf("NonZero of nothing = %+v", got)
	}
	if got := (Requests{MilliCPU: 5, Memory: 7}).NonZero(); got != (Requests{MilliCPU: 5, Memory: 7}) {
		t.Errorf("NonZero kept set requests as %+v", got)
	}
}

// BenchmarkPlacementScore measures one placement score, beside the kube-scheduler model
// (DefaultSchedulerScore) as the baseline in the same run. Target: <= 1us and 0 allocations.
func BenchmarkPlacementScore(b *testing.B) {
	node := PlacementNode{Capacity: Resources{4000, 16 << 30}, Usage: Resources{1200, 5 << 30}, ClassWeight: 0.6, Profiles: ProfileSet(0).With(ProfileCPUBound)}
	pod := PlacementPod{Usage: Resources{300, 512 << 20}, Profile: ProfileCPUBound}
	var sink int64
	b.Run("score=placement", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink += PlacementScore(&node, &pod, DefaultWeights, DefaultPlacementWeights)
		}
	})
	b.Run("score=defaultscheduler", func(b *testing.B) {
		b.ReportAllocs()
		req, p, alloc := Requests{1200, 5 << 30}, Requests{300, 512 << 20}, Requests{4000, 16 << 30}
		for b.Loop() {
			sink += DefaultSchedulerScore(req, p, alloc)
		}
	})
	_ = sink
}
