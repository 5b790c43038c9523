package scoring

import "math"

// Spread is the standard deviation (sigma) of a set of node scores, kept as running sums so that
// the effect of moving load between two nodes is known in O(1), without revisiting every node.
//
// The sums are taken around a shift K (the initial mean) so that sigma stays accurate when scores
// are close together:
//
//	S1 = sum(s_i - K),  S2 = sum((s_i - K)^2)
//	sigma = sqrt(S2/n - (S1/n)^2)
type Spread struct {
	n      int
	shift  float64
	s1, s2 float64
}

// NewSpread builds the running sums over scores.
func NewSpread(scores []float64) Spread {
	sp := Spread{n: len(scores)}
	if sp.n == 0 {
		return sp
	}
	for _, s := range scores {
		sp.shift += s
	}
	sp.shift /= float64(sp.n)
	for _, s := range scores {
		d := s - sp.shift
		sp.s1 += d
		sp.s2 += d * d
	}
	return sp
}

// Len is the number of nodes.
func (sp Spread) Len() int { return sp.n }

// Mean is the mean score.
func (sp Spread) Mean() float64 {
	if sp.n == 0 {
		return 0
	}
	return sp.shift + sp.s1/float64(sp.n)
}

// Sigma is the standard deviation of the scores (population, over all n nodes).
func (sp Spread) Sigma() float64 {
	return sigma(sp.n, sp.s1, sp.s2)
}

func sigma(n int, s1, s2 float64) float64 {
	if n == 0 {
		return 0
	}
	fn := float64(n)
	v := s2/fn - (s1/fn)*(s1/fn)
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}

// SigmaAfter is sigma after the scores of two different nodes change, node a from aOld to aNew
// and node b from bOld to bNew (a move of load from a to b). Only the two terms change:
//
//	S1' = S1 - (aOld-K) - (bOld-K) + (aNew-K) + (bNew-K)
//	S2' = S2 - (aOld-K)^2 - (bOld-K)^2 + (aNew-K)^2 + (bNew-K)^2
func (sp Spread) SigmaAfter(aOld, aNew, bOld, bNew float64) float64 {
	s1, s2 := sp.moved(aOld, aNew, bOld, bNew)
	return sigma(sp.n, s1, s2)
}

// Apply records that node a's score changed from aOld to aNew and node b's from bOld to bNew.
func (sp *Spread) Apply(aOld, aNew, bOld, bNew float64) {
	sp.s1, sp.s2 = sp.moved(aOld, aNew, bOld, bNew)
}

func (sp Spread) moved(aOld, aNew, bOld, bNew float64) (s1, s2 float64) {
	ao, an, bo, bn := aOld-sp.shift, aNew-sp.shift, bOld-sp.shift, bNew-sp.shift
	s1 = sp.s1 - ao - bo + an + bn
	s2 = sp.s2 - ao*ao - bo*bo + an*an + bn*bn
	return s1, s2
}

// SigmaAfterAtLeast is a lower bound of SigmaAfter(aOld, aNew, b, b+delta) over every node b whose
// score is at least bMin and every delta in [deltaMin, deltaMax] (delta >= 0): the least sigma a
// move off node a can reach, whichever node receives the load. With b~ = b - K:
//
//	S2' >= S2 - (aOld-K)^2 + (aNew-K)^2 + min over delta of (2 bMin~ delta + delta^2)
//	S1' in [S1 + aNew - aOld + deltaMin, S1 + aNew - aOld + deltaMax], so (S1'/n)^2 <= the larger end
//	sigma' >= sqrt(max(0, S2'/n - (S1'/n)^2))
//
// The planner ranks candidates by it before predicting their destination, and predicts only
// those that could still be the best move.
func (sp Spread) SigmaAfterAtLeast(aOld, aNew, bMin, deltaMin, deltaMax float64) float64 {
	if sp.n == 0 {
		return 0
	}
	ao, an, b := aOld-sp.shift, aNew-sp.shift, bMin-sp.shift
	// 2 b delta + delta^2 is convex in delta, least at delta = -b.
	d := min(max(-b, deltaMin), deltaMax)
	s2 := sp.s2 - ao*ao + an*an + 2*b*d + d*d
	lo, hi := sp.s1-ao+an+deltaMin, sp.s1-ao+an+deltaMax
	s1sq := max(lo*lo, hi*hi)
	fn := float64(sp.n)
	v := s2/fn - s1sq/(fn*fn)
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}
