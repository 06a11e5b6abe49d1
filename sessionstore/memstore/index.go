package memstore

import "hash/maphash"

// issuers interns issuer names and holds, per issuer, the (issuer, sid) and
// (issuer, subject) indexes. An issuer is forgotten when its last session is
// removed.
//
// Each index maps the hash of a sid or subject to the head of an intrusive
// doubly linked list of records. Keying by a 64-bit hash rather than by the
// string keeps the maps small; two different keys whose hashes collide share
// a list, so readers of a list compare the key of every record on it.
type issuers struct {
	seed   maphash.Seed
	byName map[string]uint32
	list   []*issuer
	free   []uint32
	// collide makes every key hash to 0, so that tests exercise lists
	// shared by different keys.
	collide bool
}

type issuer struct {
	name  string
	refs  int // sessions of this issuer
	heads [2]map[uint64]*record
}

func (is *issuers) hash(key string) uint64 {
	if is.collide {
		return 0
	}
	return maphash.String(is.seed, key)
}

// acquire returns the number of the named issuer, adding it if needed, and
// counts one more session for it.
func (is *issuers) acquire(name string) uint32 {
	if i, ok := is.byName[name]; ok {
		is.list[i].refs++
		return i
	}
	if is.byName == nil {
		is.byName = make(map[string]uint32)
	}
	e := &issuer{name: name, refs: 1}
	var i uint32
	if n := len(is.free); n > 0 {
		i = is.free[n-1]
		is.free = is.free[:n-1]
		is.list[i] = e
	} else {
		i = uint32(len(is.list))
		is.list = append(is.list, e)
	}
	is.byName[name] = i
	return i
}

// release counts one session less for issuer i and forgets it at zero.
func (is *issuers) release(i uint32) {
	e := is.list[i]
	if e.refs--; e.refs > 0 {
		return
	}
	delete(is.byName, e.name)
	is.list[i] = nil
	is.free = append(is.free, i)
}

func (is *issuers) name(i uint32) string { return is.list[i].name }

// head returns the first record on the list that holds the sessions of
// (issuer, key), or nil. The list may hold records with other keys.
func (is *issuers) head(issuer, key string, ix index) *record {
	i, ok := is.byName[issuer]
	if !ok {
		return nil
	}
	return is.list[i].heads[ix][is.hash(key)]
}

// link puts r, whose issuer is acquired and whose keys are set, at the front
// of its sid and subject lists. Empty keys are not indexed: they match
// nothing.
func (is *issuers) link(r *record) {
	e := is.list[r.iss]
	for ix, key := range r.keys {
		if key == "" {
			continue
		}
		if e.heads[ix] == nil {
			e.heads[ix] = make(map[uint64]*record)
		}
		k := is.hash(key)
		if h := e.heads[ix][k]; h != nil {
			r.next[ix] = h
			h.prev[ix] = r
		}
		e.heads[ix][k] = r
	}
}

// unlink takes r off its sid and subject lists.
func (is *issuers) unlink(r *record) {
	e := is.list[r.iss]
	for ix, key := range r.keys {
		if key == "" {
			continue
		}
		prev, next := r.prev[ix], r.next[ix]
		switch {
		case prev != nil:
			prev.next[ix] = next
		case next != nil:
			e.heads[ix][is.hash(key)] = next
		default:
			delete(e.heads[ix], is.hash(key))
		}
		if next != nil {
			next.prev[ix] = prev
		}
		r.prev[ix], r.next[ix] = nil, nil
	}
}
