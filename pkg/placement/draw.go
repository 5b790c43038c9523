package placement

import "math/rand/v2"

// Draw picks the node the scheduler puts the pod on, as kube-scheduler draws it, for simulations:
// one of Top at random when it scores every feasible node; under sampling, the best of a random
// sample of ToScore feasible nodes (ties at random). It returns "" when no node is feasible.
func (p Prediction) Draw(rng *rand.Rand) string {
	if len(p.Scores) == 0 {
		return ""
	}
	if !p.Sampled {
		return p.Top[rng.IntN(len(p.Top))]
	}
	idx := rng.Perm(len(p.Scores))[:p.ToScore]
	best, ties := -1, 0
	for _, i := range idx {
		switch {
		case best < 0 || p.Scores[i].Score > p.Scores[best].Score:
			best, ties = i, 1
		case p.Scores[i].Score == p.Scores[best].Score:
			// Reservoir sampling over the ties, as kube-scheduler's selectHost does.
			ties++
			if rng.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return p.Scores[best].Node
}
