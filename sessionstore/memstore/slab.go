package memstore

// slab holds the records in chunks of fixed size, so that a record is
// named by a 32-bit ref instead of a pointer, growing never copies records,
// and the garbage collector scans a few large objects. Freed records go on
// a free list and are reused first; the chunks are kept at the high-water
// mark of the number of sessions (208 bytes per session).
type slab struct {
	chunks []*[chunkLen]record
	free   ref // first free record, linked by next[0]
	used   int // records in use
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
	maxRefs   = 1<<31 - 1
)

// at returns the record named by x, which is not 0.
func (s *slab) at(x ref) *record {
	i := int(x) - 1
	return &s.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// alloc returns the ref of a free record, or 0 if the slab is full.
func (s *slab) alloc() ref {
	if x := s.free; x != 0 {
		r := s.at(x)
		s.free, r.next[0] = r.next[0], 0
		s.used++
		return x
	}
	n := len(s.chunks) * chunkLen
	if n >= maxRefs-chunkLen {
		return 0
	}
	c := new([chunkLen]record)
	s.chunks = append(s.chunks, c)
	// Put the new chunk's records on the free list in order, lowest first.
	for i := chunkLen - 1; i > 0; i-- {
		c[i].next[0] = s.free
		s.free = ref(n + i + 1)
	}
	s.used++
	return ref(n + 1)
}

// release clears the record named by x and puts it on the free list. Its
// gen changes, so that its expiry queue entries become stale.
func (s *slab) release(x ref) {
	r := s.at(x)
	// Clear all but the key bytes and created, which hold no pointers and
	// lie further into the record: set overwrites them.
	r.tags, r.prev, r.next = [kinds]uint32{}, [2]ref{}, [2]ref{}
	r.iss, r.idOff, r.subOff, r.end, r.expires = 0, 0, 0, 0, 0
	r.data, r.long = nil, ""
	r.gen++
	r.next[0] = s.free
	s.free = x
	s.used--
}
