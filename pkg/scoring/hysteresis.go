package scoring

import v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"

// Class is a node's classification.
type Class int8

const (
	// Normal nodes neither shed nor preferentially receive pods.
	Normal Class = iota
	// Hot nodes shed pods.
	Hot
	// Cold nodes receive pods.
	Cold
)

func (c Class) String() string {
	switch c {
	case Hot:
		return "hot"
	case Cold:
		return "cold"
	default:
		return "normal"
	}
}

// NodeState is what the classifier remembers about a node between readings. The caller keeps it
// (the evictor in memory across cycles, the scheduler's collector across refreshes).
type NodeState struct {
	// Class is the node's classification after the last reading.
	Class Class
	// Streak counts the latest readings in a row at or above the hot threshold (positive) or below
	// the cold threshold (negative) while the node was not yet classified that way.
	Streak int32
	// Readings is how many readings the node has had its current Class.
	Readings int32
}

// Hysteresis classifies nodes by score without flapping on noisy readings.
type Hysteresis struct {
	// Hot and Cold are the thresholds (fractions of capacity).
	Hot, Cold float64
	// Margin is how far a node must fall below Hot (or rise above Cold) to lose its class.
	Margin float64
	// Consecutive is how many readings in a row must cross a threshold to gain a class (>= 1).
	Consecutive int32
}

// WithThresholds returns h with the hot and cold thresholds of t when t is set (a policy's
// spec.thresholds, or a NodeClass's over its policy's); a threshold t leaves at zero takes the
// API default, not h's. Margin and readings stay h's. The evictor and the scheduler plugin both
// resolve thresholds through it.
func (h Hysteresis) WithThresholds(t *v1alpha1.Thresholds) Hysteresis {
	if t == nil {
		return h
	}
	h.Hot, h.Cold = t.Hot, t.Cold
	if h.Hot == 0 {
		h.Hot = v1alpha1.DefaultHotThreshold
	}
	if h.Cold == 0 {
		h.Cold = v1alpha1.DefaultColdThreshold
	}
	return h
}

// Classify classifies a node given its previous state and a new reading: its pressure (the
// busiest weighted resource, Weights.Pressure) decides hot, its weighted score decides cold.
//
//	hot  -> stays hot  while pressure >= Hot - Margin
//	cold -> stays cold while score    <  Cold + Margin and pressure < Hot
//	otherwise the node is normal and becomes hot after Consecutive readings in a row with
//	pressure >= Hot, or cold after Consecutive readings in a row with score < Cold (a reading
//	with pressure >= Hot counts towards hot, never cold).
//
// A node that leaves hot or cold starts its streaks afresh with this reading.
func (h Hysteresis) Classify(prev NodeState, pressure, score float64) NodeState {
	switch prev.Class {
	case Hot:
		if pressure >= h.Hot-h.Margin {
			return NodeState{Class: Hot, Readings: prev.Readings + 1}
		}
		prev = NodeState{}
	case Cold:
		if score < h.Cold+h.Margin && pressure < h.Hot {
			return NodeState{Class: Cold, Readings: prev.Readings + 1}
		}
		prev = NodeState{}
	}
	need := h.Consecutive
	if need < 1 {
		need = 1
	}
	switch {
	case pressure >= h.Hot:
		streak := int32(1)
		if prev.Streak > 0 {
			streak = prev.Streak + 1
		}
		if streak >= need {
			return NodeState{Class: Hot, Readings: 1}
		}
		return NodeState{Class: Normal, Streak: streak, Readings: prev.Readings + 1}
	case score < h.Cold:
		streak := int32(-1)
		if prev.Streak < 0 {
			streak = prev.Streak - 1
		}
		if -streak >= need {
			return NodeState{Class: Cold, Readings: 1}
		}
		return NodeState{Class: Normal, Streak: streak, Readings: prev.Readings + 1}
	default:
		return NodeState{Class: Normal, Readings: prev.Readings + 1}
	}
}
