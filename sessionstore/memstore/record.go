package memstore

import (
	"errors"
	"maps"
	"math"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// record is one stored session. It is laid out to be small (112 bytes on
// 64-bit platforms, a size class of its own): the issuer is an interned
// number, times are Unix nanoseconds, the three strings share one
// allocation, Data is a separate allocation only when it is not empty, and
// the (issuer, sid) and (issuer, subject) indexes are intrusive doubly
// linked lists, so that they need no per-session sets.
type record struct {
	id      string
	keys    [2]string // sid, subject; indexed by index
	data    *sessionstore.Data
	created int64 // Unix nanoseconds, or zeroTime
	expires int64 // Unix nanoseconds, or zeroTime
	iss     uint32
	heapIdx int32
	prev    [2]*record
	next    [2]*record
}

// index names one of the two lists a record is on.
type index int

const (
	bySID index = iota
	bySubject
)

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

// newRecord returns a record of s that holds its id, sid and subject in one
// allocation of its own, so that it neither retains the caller's memory nor
// pays for three string allocations.
func newRecord(s *sessionstore.Session, data *sessionstore.Data, created, expires int64) *record {
	buf := s.ID + s.SID + s.Subject
	i, j := len(s.ID), len(s.ID)+len(s.SID)
	r := &record{id: buf[:i], data: data, created: created, expires: expires}
	r.keys[bySID], r.keys[bySubject] = buf[i:j], buf[j:]
	return r
}

// copyData returns a deep copy of d, or nil if d is empty.
func copyData(d sessionstore.Data) *sessionstore.Data {
	if d.IDToken == "" && d.AccessToken == "" && d.RefreshToken == "" &&
		d.TokenExpiry.IsZero() && d.SessionState == "" && len(d.Values) == 0 {
		return nil
	}
	c := d
	c.Values = nil
	if len(d.Values) > 0 {
		c.Values = maps.Clone(d.Values)
	}
	return &c
}

// session returns a copy of r as a Session.
func (r *record) session(issuer string) *sessionstore.Session {
	s := &sessionstore.Session{
		ID:        r.id,
		Issuer:    issuer,
		Subject:   r.keys[bySubject],
		SID:       r.keys[bySID],
		CreatedAt: decodeTime(r.created),
		ExpiresAt: decodeTime(r.expires),
	}
	if r.data != nil {
		s.Data = *r.data
		s.Data.Values = maps.Clone(r.data.Values)
	}
	return s
}
