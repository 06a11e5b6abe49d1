package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
)

// RecordLogout implements [sessionstore.Store] with one script on one key:
// the logout record of (issuer, sid), or of (issuer, subject) when l.SID is
// empty. The script keeps the later of the stored and the new ReceivedAt,
// IssuedAt and ExpiresAt, atomically, so concurrent logouts of the same OP
// session never move the record back. Times are kept to the nanosecond.
// The record is not a session: no index names it.
func (st *Store) RecordLogout(ctx context.Context, l sessionstore.Logout) error {
	var key string
	switch {
	case l.SID != "":
		key = st.keys.logoutSID(l.Issuer, l.SID)
	case l.Subject != "":
		key = st.keys.logoutSubject(l.Issuer, l.Subject)
	default:
		return errors.New("redisstore: RecordLogout needs a SID or a Subject")
	}
	err := logoutScript.Eval(ctx, st.c, []string{key},
		stamp(st.now()), timeStamp(l.ReceivedAt), timeStamp(l.IssuedAt), stamp(l.ExpiresAt)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: record logout: %w", err)
	}
	return nil
}

// LastLogout implements [sessionstore.Store]. It reads the live logout
// records of (issuer, sid) and of (issuer, subject), skipping an empty sid
// or subject: one HMGET, or two in one pipeline (on Redis Cluster the two
// keys may live on different masters; go-redis asks both at once), and no
// round trip at all when both are empty.
func (st *Store) LastLogout(ctx context.Context, issuer, sid, subject string) (time.Time, time.Time, error) {
	var zero time.Time
	if err := ctx.Err(); err != nil {
		return zero, zero, fmt.Errorf("redisstore: last logout: %w", err)
	}
	var ks []string
	if sid != "" {
		ks = append(ks, st.keys.logoutSID(issuer, sid))
	}
	if subject != "" {
		ks = append(ks, st.keys.logoutSubject(issuer, subject))
	}
	if len(ks) == 0 {
		return zero, zero, nil
	}
	now := stamp(st.now())
	var reads []*redis.SliceCmd
	var err error
	if len(ks) == 1 {
		reads = []*redis.SliceCmd{st.c.HMGet(ctx, ks[0], "r", "i", "e")}
		err = reads[0].Err()
	} else {
		pipe := st.c.Pipeline()
		for _, k := range ks {
			reads = append(reads, pipe.HMGet(ctx, k, "r", "i", "e"))
		}
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		return zero, zero, fmt.Errorf("redisstore: last logout: %w", err)
	}
	var received, issued string
	for _, r := range reads {
		v := r.Val()
		if len(v) != 3 {
			return zero, zero, fmt.Errorf("redisstore: last logout: %w", errShortReply)
		}
		rv, _ := v[0].(string)
		iv, _ := v[1].(string)
		ev, _ := v[2].(string)
		if ev <= now { // missing (""), or expired by the store's clock
			continue
		}
		received, issued = max(received, rv), max(issued, iv)
	}
	r, err1 := parseStamp(received)
	i, err2 := parseStamp(issued)
	if err := errors.Join(err1, err2); err != nil {
		return zero, zero, fmt.Errorf("redisstore: last logout: %w", err)
	}
	return r, i, nil
}

// timeStamp is stamp for a time that may be zero (no time): the zero time
// is stamp 0.
func timeStamp(t time.Time) string {
	if t.IsZero() {
		return stamp(time.Unix(0, 0))
	}
	return stamp(t)
}

// parseStamp is the inverse of timeStamp, in UTC: "" and stamp 0 are the
// zero time.
func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q in a logout record", s)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, n).UTC(), nil
}
