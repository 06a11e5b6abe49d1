package memstore

// expiryQueue is a binary min-heap of records ordered by expiry. Each entry
// carries its record's expiry, so that keeping the order reads only the
// heap's own memory, and each record knows its position, so that removing
// or re-timing one is O(log n).
type expiryQueue []expiryEntry

type expiryEntry struct {
	expires int64
	r       *record
}

func (q *expiryQueue) min() *record {
	if len(*q) == 0 {
		return nil
	}
	return (*q)[0].r
}

func (q *expiryQueue) push(r *record) {
	r.heapIdx = int32(len(*q))
	*q = append(*q, expiryEntry{r.expires, r})
	q.up(int(r.heapIdx))
}

func (q *expiryQueue) remove(r *record) {
	h := *q
	i, last := int(r.heapIdx), len(h)-1
	if i != last {
		h[i] = h[last]
		h[i].r.heapIdx = int32(i)
	}
	h[last] = expiryEntry{}
	*q = h[:last]
	if i != last {
		q.fixAt(i)
	}
	r.heapIdx = -1
	// Give memory back after a mass expiry or logout.
	if c := cap(*q); c > 1024 && len(*q) < c/4 {
		*q = append(expiryQueue(nil), *q...)
	}
}

// fix restores the heap order after r.expires changed.
func (q *expiryQueue) fix(r *record) {
	i := int(r.heapIdx)
	(*q)[i].expires = r.expires
	q.fixAt(i)
}

func (q *expiryQueue) fixAt(i int) {
	if !q.down(i) {
		q.up(i)
	}
}

func (q expiryQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if q[p].expires <= q[i].expires {
			return
		}
		q.swap(i, p)
		i = p
	}
}

// down moves q[i] down and reports whether it moved.
func (q expiryQueue) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(q) {
			break
		}
		if c+1 < len(q) && q[c+1].expires < q[c].expires {
			c++
		}
		if q[i].expires <= q[c].expires {
			break
		}
		q.swap(i, c)
		i = c
	}
	return i > start
}

func (q expiryQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].r.heapIdx = int32(i)
	q[j].r.heapIdx = int32(j)
}
