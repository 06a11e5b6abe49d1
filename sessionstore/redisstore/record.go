package redisstore

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// record is the JSON form of a session kept in the record hash's json field.
// Data is encoded with encoding/json as the sessionstore contract asks.
type record struct {
	ID        string            `json:"id"`
	Issuer    string            `json:"iss"`
	Subject   string            `json:"sub"`
	SID       string            `json:"sid,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Data      sessionstore.Data `json:"data"`
}

func encodeSession(s *sessionstore.Session) (string, error) {
	b, err := json.Marshal(record{s.ID, s.Issuer, s.Subject, s.SID, s.CreatedAt, s.ExpiresAt, s.Data})
	if err != nil {
		return "", fmt.Errorf("redisstore: encode session: %w", err)
	}
	return string(b), nil
}

func decodeSession(v string) (*sessionstore.Session, error) {
	var r record
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, fmt.Errorf("redisstore: decode session: %w", err)
	}
	return &sessionstore.Session{
		ID: r.ID, Issuer: r.Issuer, Subject: r.Subject, SID: r.SID,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Data: r.Data,
	}, nil
}

// stamp encodes t as 20-digit zero-padded Unix nanoseconds, which Lua
// compares correctly as strings. Times outside 1970..2262 are clamped.
func stamp(t time.Time) string {
	switch {
	case t.Before(time.Unix(0, 0)):
		return fmt.Sprintf("%020d", 0)
	case t.After(time.Unix(0, math.MaxInt64)):
		return fmt.Sprintf("%020d", int64(math.MaxInt64))
	}
	return fmt.Sprintf("%020d", t.UnixNano())
}

// ttl is how long Redis keeps a key that expires at exp by the store's
// clock: at least one millisecond, rounded up.
func ttl(exp, now time.Time) int64 {
	d := exp.Sub(now)
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return max(int64(ms), 1)
}
