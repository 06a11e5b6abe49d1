package memstore

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// record is one stored session, kept in a [slab] and named by a ref. It is
// laid out so that a lookup touches few cache lines and one page: 208 bytes
// on 64-bit platforms, the 80 bytes of fields a removal reads or clears
// first, then the sid, id and subject inline when together they fit in 120
// bytes (otherwise in one string of their own). The issuer is an interned number,
// times are Unix nanoseconds, and Data is a separate allocation only when
// it is not empty. The record holds the index tags of its id, sid and
// subject, so that removing it from the indexes reads neither its keys nor
// other records, and the (issuer, sid) and (issuer, subject) lists are
// intrusive, linked by refs.
type record struct {
	tags    [kinds]uint32 // index tags by kind-1; 0 for an empty key
	prev    [2]ref        // by list
	next    [2]ref        // by list; next[0] links the slab's free list
	iss     uint32
	gen     uint32 // see expiryQueue
	idOff   uint32 // the sid, id and subject are [:idOff], [idOff:subOff]
	subOff  uint32 // and [subOff:end] of short or long
	end     uint32
	expires int64 // Unix nanoseconds, or zeroTime
	data    *sessionstore.Data
	long    string // the keys when they do not fit in short
	short   [shortLen]byte
	created int64 // Unix nanoseconds, or zeroTime
}

// shortLen is how many bytes of keys a record holds inline: enough for a
// 43-byte session id, a UUID sid and a subject of up to 41 bytes.
const shortLen = 120

// ref names a record in the slab; 0 names none.
type ref int32

// bounds returns where r's key for an index kind lies in its key bytes.
func (r *record) bounds(k kind) (int, int) {
	switch k {
	case kindSID:
		return 0, int(r.idOff)
	case kindID:
		return int(r.idOff), int(r.subOff)
	default:
		return int(r.subOff), int(r.end)
	}
}

// keyIs reports whether r's key for kind k is key.
func (r *record) keyIs(k kind, key string) bool {
	i, j := r.bounds(k)
	if r.long != "" {
		return r.long[i:j] == key
	}
	return string(r.short[i:j]) == key
}

// keys returns r's sid, id and subject as one string.
func (r *record) keys() string {
	if r.long != "" {
		return r.long
	}
	return string(r.short[:r.end])
}

// zeroTime encodes the zero time.Time, which UnixNano cannot represent.
const zeroTime = math.MinInt64

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

var errTimeRange = errors.New("memstore: session time outside the years 1678 to 2262")

func encodeTime(t time.Time) (int64, error) {
	if t.IsZero() {
		return zeroTime, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, errTimeRange
	}
	return t.UnixNano(), nil
}

func decodeTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encodeTimes(s *sessionstore.Session) (created, expires int64, err error) {
	created, err = encodeTime(s.CreatedAt)
	if err != nil {
		return 0, 0, err
	}
	expires, err = encodeTime(s.ExpiresAt)
	return created, expires, err
}

var errKeyLen = errors.New("memstore: session id, sid and subject longer than 4 GiB")

// set fills the free record r with the keys and times of s. It copies the
// id, sid and subject, so that r does not retain the caller's memory.
func (r *record) set(s *sessionstore.Session, data *sessionstore.Data, created, expires int64) {
	n := len(s.ID) + len(s.SID) + len(s.Subject)
	if n <= shortLen {
		i := copy(r.short[:], s.SID)
		i += copy(r.short[i:], s.ID)
		copy(r.short[i:], s.Subject)
	} else {
		r.long = s.SID + s.ID + s.Subject
	}
	r.idOff = uint32(len(s.SID))
	r.subOff = uint32(len(s.SID) + len(s.ID))
	r.end = uint32(n)
	r.data, r.created, r.expires = data, created, expires
}

// copyData returns a deep copy of d, or nil if d is empty.
func copyData(d sessionstore.Data) *sessionstore.Data {
	if d.IDToken == "" && d.AccessToken == "" && d.RefreshToken == "" &&
		d.TokenExpiry.IsZero() && d.SessionState == "" && len(d.Values) == 0 && len(d.Claims) == 0 {
		return nil
	}
	c := d
	c.Values = nil
	if len(d.Values) > 0 {
		c.Values = maps.Clone(d.Values)
	}
	c.Claims = bytes.Clone(d.Claims)
	return &c
}

// session returns a copy of r as a Session.
func (r *record) session(issuer string) *sessionstore.Session {
	b := r.keys()
	s := &sessionstore.Session{
		ID:        b[r.idOff:r.subOff],
		Issuer:    issuer,
		Subject:   b[r.subOff:],
		SID:       b[:r.idOff],
		CreatedAt: decodeTime(r.created),
		ExpiresAt: decodeTime(r.expires),
	}
	if r.data != nil {
		s.Data = *r.data
		s.Data.Values = maps.Clone(r.data.Values)
		s.Data.Claims = bytes.Clone(r.data.Claims)
	}
	return s
}
