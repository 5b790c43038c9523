package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveSigma(scores []float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	var mean float64
	for _, s := range scores {
		mean += s
	}
	mean /= float64(len(scores))
	var v float64
	for _, s := range scores {
		v += (s - mean) * (s - mean)
	}
	return math.Sqrt(v / float64(len(scores)))
}

func TestSpreadSigma(t *testing.T) {
	cases := []struct {
		name   string
		scores []float64
		want   float64
	}{
		{"empty", nil, 0},
		{"one node", []float64{0.7}, 0},
		{"equal", []float64{0.4, 0.4, 0.4}, 0},
		// mean 0.5; deviations ±0.3; variance 0.09; sigma 0.3
		{"two apart", []float64{0.2, 0.8}, 0.3},
		// mean 0.5; deviations -0.4,0,0.4 -> variance (0.16+0+0.16)/3 = 0.10667; sigma 0.326599
		{"three", []float64{0.1, 0.5, 0.9}, math.Sqrt(0.32 / 3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewSpread(tc.scores).Sigma(); !near(got, tc.want) {
				t.Errorf("Sigma = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSpreadMoveMatchesRecomputation(t *testing.T) {
	// Moving load 0.2 from the node at 0.8 to the node at 0.2 in {0.2, 0.5, 0.8} gives
	// {0.4, 0.5, 0.6}: mean 0.5, variance (0.01+0+0.01)/3, sigma 0.08165.
	sp := NewSpread([]float64{0.2, 0.5, 0.8})
	got := sp.SigmaAfter(0.8, 0.6, 0.2, 0.4)
	if want := math.Sqrt(0.02 / 3); !near(got, want) {
		t.Errorf("SigmaAfter = %v, want %v", got, want)
	}

	// Random moves, applied one after another, agree with recomputing from scratch.
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 2 + rng.IntN(50)
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = rng.Float64()
		}
		sp := NewSpread(scores)
		for step := 0; step < 20; step++ {
			a, b := rng.IntN(n), rng.IntN(n)
			if a == b {
				continue
			}
			d := rng.Float64() * 0.1
			predicted := sp.SigmaAfter(scores[a], scores[a]-d, scores[b], scores[b]+d)
			sp.Apply(scores[a], scores[a]-d, scores[b], scores[b]+d)
			scores[a] -= d
			scores[b] += d
			if want := naiveSigma(scores); math.Abs(predicted-want) > 1e-9 || math.Abs(sp.Sigma()-want) > 1e-9 {
				t.Fatalf("trial %d step %d: predicted %v, applied %v, recomputed %v", trial, step, predicted, sp.Sigma(), want)
			}
		}
		if !near(sp.Mean(), mean(scores)) {
			t.Fatalf("Mean = %v, want %v", sp.Mean(), mean(scores))
		}
	}
}

func mean(s []float64) float64 {
	var m float64
	for _, v := range s {
		m += v
	}
	return m / float64(len(s))
}

// TestSigmaAfterAtLeast: the bound is never above the sigma of any actual move it covers, over
// random score sets, moves and destinations.
func TestSigmaAfterAtLeast(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 2000; trial++ {
		n := 2 + rng.IntN(30)
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = rng.Float64() * 1.2
		}
		sp := NewSpread(scores)
		a := rng.IntN(n)
		aNew := scores[a] * rng.Float64()
		deltaMin := rng.Float64() * 0.2
		deltaMax := deltaMin + rng.Float64()*0.2
		bMin := math.Inf(1)
		for i, s := range scores {
			if i != a {
				bMin = min(bMin, s)
			}
		}
		bound := sp.SigmaAfterAtLeast(scores[a], aNew, bMin, deltaMin, deltaMax)
		for b := range scores {
			if b == a {
				continue
			}
			for _, delta := range []float64{deltaMin, (deltaMin + deltaMax) / 2, deltaMax} {
				if got := sp.SigmaAfter(scores[a], aNew, scores[b], scores[b]+delta); got < bound-1e-12 {
					t.Fatalf("trial %d: moving to node %d (delta %v) gives sigma %v, below the bound %v", trial, b, delta, got, bound)
				}
			}
		}
	}
}
