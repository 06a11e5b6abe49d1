package memstore

// expiryQueue is a binary min-heap of expiry entries. It is lazy, so that
// removing or re-timing a session never sifts the heap or touches other
// records:
//
//   - An entry names its record by ref and gen. Removing a record changes
//     its gen, which makes the entry stale; stale entries are dropped when
//     they reach the top, or all at once when they outnumber the live ones
//     (see [Store.compact]), so the heap holds at most about two entries per
//     session and the work is constant per removal, amortized. The price is
//     a pause of that one write: about 50 to 75 ms with 1M sessions, once
//     per million removals.
//   - Extending a session leaves its entry early; when the entry reaches
//     the top it is pushed again at the session's expiry. Shortening one
//     replaces its entry: the gen changes and a new entry is pushed.
//
// Every live record has exactly one entry of its gen, and that entry's
// time is at or before the record's expiry.
type expiryQueue []expiryEntry

type expiryEntry struct {
	expires int64
	ref     ref
	gen     uint32
}

func (q *expiryQueue) push(e expiryEntry) {
	*q = append(*q, e)
	q.up(len(*q) - 1)
}

// pop removes the first entry, which exists.
func (q *expiryQueue) pop() {
	h := *q
	last := len(h) - 1
	h[0] = h[last]
	*q = h[:last]
	q.down(0)
}

func (q expiryQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if q[p].expires <= q[i].expires {
			return
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (q expiryQueue) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(q) {
			return
		}
		if c+1 < len(q) && q[c+1].expires < q[c].expires {
			c++
		}
		if q[i].expires <= q[c].expires {
			return
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
}

// heapify restores the heap order of the whole queue.
func (q expiryQueue) heapify() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}
