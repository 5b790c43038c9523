package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// rankScores and possible take shortcuts (buckets by score from the name order; the possible set
// filtered from the name order): over random score lists, in name order as the framework returns
// them and shuffled as after a PreFilter plugin, they give what their definitions say, written
// here the slow way.
func TestRankScoresAndPossibleMatchTheirDefinitions(t *testing.T) {
	for seed := range 500 {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		n := rng.IntN(300)
		s := make([]NodeScore, 0, n)
		for i := range n {
			s = append(s, NodeScore{Node: fmt.Sprintf("n%05d", i), Score: int64(rng.IntN(1 + rng.IntN(50)))})
		}
		if seed%3 == 0 {
			rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		}
		wantSorted := slices.Clone(s)
		slices.SortFunc(wantSorted, func(a, b NodeScore) int {
			if a.Score != b.Score {
				return int(b.Score - a.Score)
			}
			return strings.Compare(a.Node, b.Node)
		})
		wantByName := slices.Clone(s)
		slices.SortFunc(wantByName, compareNodeNames)
		ranked, byName := rankScores(s)
		if !slices.Equal(ranked, wantSorted) {
			t.Fatalf("seed %d: rankScores ranks %v, want %v", seed, ranked, wantSorted)
		}
		if !slices.Equal(byName, wantByName) {
			t.Fatalf("seed %d: rankScores' name order %v, want %v", seed, byName, wantByName)
		}
		s = ranked
		k := 1 + rng.IntN(n+1)
		// possible = { n : |{m != n, score(m) <= score(n)}| >= k-1 }, sorted by name.
		var want []string
		for _, x := range s {
			noHigher := 0
			for _, y := range s {
				if y.Node != x.Node && y.Score <= x.Score {
					noHigher++
				}
			}
			if noHigher >= k-1 {
				want = append(want, x.Node)
			}
		}
		slices.Sort(want)
		if got := possible(ranked, byName, k); !slices.Equal(got, want) {
			t.Fatalf("seed %d, k %d: possible %v, want %v", seed, k, got, want)
		}
	}
}
