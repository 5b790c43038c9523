package planner

// shapeMap maps shapes to values for one plan. A plan looks a shape up once for each pod on a hot
// node (tens of thousands in a large cluster), so it finds the shapes of a Compactor by their
// number (Shape.ix) in a slice, without hashing; a shape without a number, or whose slot holds a
// shape of another Compactor with the same number, goes to a map.
type shapeMap[V any] struct {
	dense []shapeSlot[V]
	other map[*Shape]V
}

type shapeSlot[V any] struct {
	shape *Shape
	v     V
}

// get returns the shape's value and whether it has one.
func (m *shapeMap[V]) get(s *Shape) (V, bool) {
	if ix := int(s.ix); ix < len(m.dense) && m.dense[ix].shape == s {
		return m.dense[ix].v, true
	}
	v, ok := m.other[s]
	return v, ok
}

// set gives the shape a value.
func (m *shapeMap[V]) set(s *Shape, v V) {
	if ix := int(s.ix); ix > 0 {
		if ix >= len(m.dense) {
			m.dense = append(m.dense, make([]shapeSlot[V], max(ix+1, 2*len(m.dense))-len(m.dense))...)
		}
		if slot := &m.dense[ix]; slot.shape == nil || slot.shape == s {
			slot.shape, slot.v = s, v
			return
		}
	}
	if m.other == nil {
		m.other = map[*Shape]V{}
	}
	m.other[s] = v
}

// reserve makes room for the shapes numbered below n.
func (m *shapeMap[V]) reserve(n int) {
	if n > len(m.dense) {
		m.dense = append(m.dense, make([]shapeSlot[V], n-len(m.dense))...)
	}
}

// add adds n to the shape's count.
func add(m *shapeMap[int], s *Shape, n int) {
	v, _ := m.get(s)
	m.set(s, v+n)
}

// all yields every shape with its value.
func (m *shapeMap[V]) all(yield func(*Shape, V) bool) {
	for i := range m.dense {
		if sl := &m.dense[i]; sl.shape != nil && !yield(sl.shape, sl.v) {
			return
		}
	}
	for s, v := range m.other {
		if !yield(s, v) {
			return
		}
	}
}
