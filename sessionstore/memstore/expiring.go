package memstore

// expiring is a bounded map whose entries expire. Entries are kept in the
// order they were set, and expired ones are dropped from the front of that
// order as new ones are set, so every operation takes constant time,
// amortized, however full the map is, and no operation scans it. When it
// is full, setting an entry forgets the one set first. Callers whose
// entries all live about equally long thereby forget the entry closest to
// expiry. It is not safe for concurrent use.
type expiring[K comparable, V any] struct {
	max     int
	entries map[K]timed[V]
	order   []setRecord[K] // in the order set, from order[head]
	head    int
	counter uint64
}

// timed is an entry's value. It is current while the record in order with
// its seq is.
type timed[V any] struct {
	v       V
	expires int64
	seq     uint64
}

// setRecord is one element of the order. It is stale once its entry was
// deleted or set again.
type setRecord[K comparable] struct {
	k   K
	seq uint64
}

func newExpiring[K comparable, V any](max int) *expiring[K, V] {
	return &expiring[K, V]{max: max, entries: make(map[K]timed[V])}
}

// get returns the live entry of k.
func (m *expiring[K, V]) get(k K, now int64) (V, bool) {
	e, ok := m.entries[k]
	if !ok || e.expires <= now {
		var zero V
		return zero, false
	}
	return e.v, true
}

// set sets k to v until expires, which is after now.
func (m *expiring[K, V]) set(k K, v V, expires, now int64) {
	m.trim(now, 2)
	if _, ok := m.entries[k]; !ok {
		for len(m.entries) >= m.max {
			m.evict()
		}
	}
	m.counter++
	m.entries[k] = timed[V]{v, expires, m.counter}
	m.order = append(m.order, setRecord[K]{k, m.counter})
	// Deleted and re-set entries leave stale records behind; keep the
	// order at most twice the room.
	for len(m.order)-m.head > 2*m.max {
		m.evict()
	}
}

// delete removes k; its record in the order becomes stale.
func (m *expiring[K, V]) delete(k K) { delete(m.entries, k) }

// len reports how many entries the map holds, expired ones included.
func (m *expiring[K, V]) len() int { return len(m.entries) }

// trim drops up to n records from the front of the order that are stale
// or whose entry has expired.
func (m *expiring[K, V]) trim(now int64, n int) {
	for ; n > 0 && m.head < len(m.order); n-- {
		r := m.order[m.head]
		if e, ok := m.entries[r.k]; ok && e.seq == r.seq {
			if now < e.expires {
				return
			}
			delete(m.entries, r.k)
		}
		m.pop()
	}
}

// evict drops the front record of the order, and its entry if that is
// current. The order is not empty.
func (m *expiring[K, V]) evict() {
	r := m.order[m.head]
	if e, ok := m.entries[r.k]; ok && e.seq == r.seq {
		delete(m.entries, r.k)
	}
	m.pop()
}

// pop removes the front record of the order. Once half the slice is
// dropped records it moves the rest down (into a smaller slice after a
// flood has passed): constant time per record, amortized.
func (m *expiring[K, V]) pop() {
	var zero setRecord[K]
	m.order[m.head] = zero
	m.head++
	if m.head < 1024 || m.head*2 < len(m.order) {
		return
	}
	rest := m.order[m.head:]
	if cap(m.order) > 4*len(rest)+4096 {
		m.order = append(make([]setRecord[K], 0, 2*len(rest)+1024), rest...)
	} else {
		n := copy(m.order, rest)
		clear(m.order[n:])
		m.order = m.order[:n]
	}
	m.head = 0
}
