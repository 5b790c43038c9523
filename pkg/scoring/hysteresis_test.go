package scoring

import (
	"testing"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

func TestHysteresis(t *testing.T) {
	h := Hysteresis{Hot: 0.8, Cold: 0.3, Margin: 0.05, Consecutive: 3}
	cases := []struct {
		name     string
		readings []float64
		want     []Class
	}{
		{"becomes hot after three readings", []float64{0.85, 0.9, 0.8}, []Class{Normal, Normal, Hot}},
		{"a dip resets the hot streak", []float64{0.85, 0.7, 0.85, 0.85}, []Class{Normal, Normal, Normal, Normal}},
		// hot stays hot down to 0.8-0.05 = 0.75 inclusive, leaves below
		{"stays hot inside the margin", []float64{0.9, 0.9, 0.9, 0.76, 0.75, 0.749}, []Class{Normal, Normal, Hot, Hot, Hot, Normal}},
		{"becomes cold after three readings", []float64{0.1, 0.29, 0.2}, []Class{Normal, Normal, Cold}},
		// cold stays cold below 0.3+0.05 = 0.35, leaves at 0.35
		{"stays cold inside the margin", []float64{0.1, 0.1, 0.1, 0.34, 0.35}, []Class{Normal, Normal, Cold, Cold, Normal}},
		{"exactly at hot counts", []float64{0.8, 0.8, 0.8}, []Class{Normal, Normal, Hot}},
		{"exactly at cold does not count", []float64{0.3, 0.3, 0.3}, []Class{Normal, Normal, Normal}},
		// hot -> leaves (0.1 < 0.75) and starts a cold streak with the same reading
		{"hot to cold passes through normal", []float64{0.9, 0.9, 0.9, 0.1, 0.1, 0.1}, []Class{Normal, Normal, Hot, Normal, Normal, Cold}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st NodeState
			for i, r := range tc.readings {
				st = h.Classify(st, r, r) // one value for pressure and score
				if st.Class != tc.want[i] {
					t.Fatalf("after reading %d (%v): class %v, want %v (state %+v)", i, r, st.Class, tc.want[i], st)
				}
			}
		})
	}

	t.Run("one reading suffices with Consecutive 1", func(t *testing.T) {
		h1 := h
		h1.Consecutive = 1
		if got := h1.Classify(NodeState{}, 0.81, 0.81).Class; got != Hot {
			t.Errorf("class %v, want hot", got)
		}
	})
	t.Run("readings count time in the class", func(t *testing.T) {
		st := NodeState{}
		for _, r := range []float64{0.9, 0.9, 0.9, 0.9, 0.9} {
			st = h.Classify(st, r, r) // one value for pressure and score
		}
		if st.Class != Hot || st.Readings != 3 {
			t.Errorf("state %+v, want hot for 3 readings", st)
		}
	})
}

// TestClassifyOnPressureAndScore: hot follows the busiest resource, cold the weighted score.
func TestClassifyOnPressureAndScore(t *testing.T) {
	h := Hysteresis{Hot: 0.75, Cold: 0.35, Margin: 0.05, Consecutive: 1}
	type reading struct{ pressure, score float64 }
	cases := []struct {
		name     string
		readings []reading
		want     []Class
	}{
		// memory 0.92, CPU 0.15 at equal weights: score 0.535, pressure 0.92 -> hot
		{"one full resource is hot", []reading{{0.92, 0.535}}, []Class{Hot}},
		// stays hot while pressure >= 0.70, whatever the score
		{"stays hot on pressure", []reading{{0.92, 0.535}, {0.71, 0.4}, {0.69, 0.4}}, []Class{Hot, Hot, Normal}},
		// CPU 0.5, memory 0.1: score 0.3 -> cold although one resource is at half
		{"cold on the score", []reading{{0.5, 0.3}}, []Class{Cold}},
		// a cold node whose busiest resource reaches hot leaves cold, even with a low score
		{"pressure ends cold", []reading{{0.5, 0.3}, {0.76, 0.38}, {0.76, 0.38}}, []Class{Cold, Hot, Hot}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st NodeState
			for i, r := range tc.readings {
				st = h.Classify(st, r.pressure, r.score)
				if st.Class != tc.want[i] {
					t.Fatalf("after reading %d (%+v): class %v, want %v", i, r, st.Class, tc.want[i])
				}
			}
		})
	}
}

// TestWithThresholds: a set Thresholds replaces both thresholds, an unset one taking the API
// default rather than the base's; the margin and the readings stay.
func TestWithThresholds(t *testing.T) {
	base := Hysteresis{Hot: 0.9, Cold: 0.1, Margin: 0.07, Consecutive: 4}
	cases := []struct {
		name string
		t    *v1alpha1.Thresholds
		want Hysteresis
	}{
		{"none keeps the base", nil, base},
		{"both set", &v1alpha1.Thresholds{Hot: 0.8, Cold: 0.2}, Hysteresis{Hot: 0.8, Cold: 0.2, Margin: 0.07, Consecutive: 4}},
		{"hot only: cold is the API default", &v1alpha1.Thresholds{Hot: 0.8}, Hysteresis{Hot: 0.8, Cold: v1alpha1.DefaultColdThreshold, Margin: 0.07, Consecutive: 4}},
		{"cold only: hot is the API default", &v1alpha1.Thresholds{Cold: 0.2}, Hysteresis{Hot: v1alpha1.DefaultHotThreshold, Cold: 0.2, Margin: 0.07, Consecutive: 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := base.WithThresholds(tc.t); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
