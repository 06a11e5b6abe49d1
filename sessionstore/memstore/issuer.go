package memstore

// issuers interns issuer names as small numbers and counts the sessions of
// each; an issuer is forgotten when its last session is removed.
type issuers struct {
	byName map[string]uint32
	names  []string
	refs   []int
	free   []uint32
}

// acquire returns the number of the named issuer, adding it if needed, and
// counts one more session for it.
func (is *issuers) acquire(name string) uint32 {
	if i, ok := is.byName[name]; ok {
		is.refs[i]++
		return i
	}
	if is.byName == nil {
		is.byName = make(map[string]uint32)
	}
	var i uint32
	if n := len(is.free); n > 0 {
		i = is.free[n-1]
		is.free = is.free[:n-1]
		is.names[i], is.refs[i] = name, 1
	} else {
		i = uint32(len(is.names))
		is.names = append(is.names, name)
		is.refs = append(is.refs, 1)
	}
	is.byName[name] = i
	return i
}

// release counts one session less for issuer i and forgets it at zero.
func (is *issuers) release(i uint32) {
	if is.refs[i]--; is.refs[i] > 0 {
		return
	}
	delete(is.byName, is.names[i])
	is.names[i] = ""
	is.free = append(is.free, i)
}

func (is *issuers) name(i uint32) string { return is.names[i] }

// lookup returns the number of the named issuer and whether it has sessions.
func (is *issuers) lookup(name string) (uint32, bool) {
	i, ok := is.byName[name]
	return i, ok
}
