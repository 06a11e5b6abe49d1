package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
)

var _ sessionstore.SIDSubjectDeleter = (*Store)(nil)

// DeleteBySIDAndSubject implements sessionstore.SIDSubjectDeleter.
//
// Round trips: one ZRANGE on the (issuer, sid) index; then, if it names one
// session (the usual case: one RP session per OP session), one script on
// that record that checks its issuer, sid, subject and liveness and deletes
// it or reports the mismatch, atomically (2 round trips). If it names
// several, a pipeline of HMGETs reads their identities and expiries; a live
// one of another subject ends the call with ErrSubjectMismatch (2 round
// trips, nothing deleted); otherwise a pipeline of the same per-record
// scripts deletes them (3 round trips).
//
// Atomicity: records live in other Cluster slots than the index and than
// each other, so no single script can see them all. With several sessions
// the check is per record, not one snapshot: a live session of another
// subject that exists when the index is read is seen and nothing is
// deleted; one created after that read is not deleted (each delete script
// re-checks issuer, sid and subject, so not even if it reused the id of a
// checked record) and counts as created after the logout, exactly as a
// session racing DeleteBySID does (README.md, consistency point 4). That is
// enough for its purpose: an OP issues a sid for one OP session of one
// user, so sessions of two subjects under one (issuer, sid) mean a
// misbehaving OP, and the check only has to keep a token from ending
// another user's sessions that already exist.
func (st *Store) DeleteBySIDAndSubject(ctx context.Context, issuer, sid, subject string) ([]*sessionstore.Session, error) {
	if sid == "" {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisstore: delete sessions by sid and subject: %w", err)
		}
		return nil, nil
	}
	ss, err := st.deleteSubjectChecked(ctx, issuer, sid, subject)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete sessions by sid and subject: %w", err)
	}
	return ss, nil
}

func (st *Store) deleteSubjectChecked(ctx context.Context, issuer, sid, subject string) ([]*sessionstore.Session, error) {
	now := st.now()
	ids, err := st.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: st.keys.bySID(issuer, sid), ByScore: true,
		Start: strconv.FormatInt(now.Add(-indexGrace).UnixMilli(), 10), Stop: "+inf",
	}).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	at := stamp(now)
	if len(ids) == 1 {
		v, err := subjectDeleteScript.Eval(ctx, st.c, []string{st.keys.session(ids[0])}, at, issuer, sid, subject).Result()
		switch {
		case err != nil:
			return nil, err
		case v == int64(-1):
			return nil, sessionstore.ErrSubjectMismatch
		}
		s, err := ended(v)
		if s == nil || err != nil {
			return nil, err
		}
		return []*sessionstore.Session{s}, nil
	}

	// Several sessions: read every record's identity, then decide.
	pipe := st.c.Pipeline()
	reads := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		reads[i] = pipe.HMGet(ctx, st.keys.session(id), "exp", "iss", "sid", "sub")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	var mine []string // records of (issuer, sid), live ones all of subject
	for i, r := range reads {
		v := r.Val()
		if len(v) != 4 {
			return nil, errShortReply
		}
		exp, _ := v[0].(string)
		iss, _ := v[1].(string)
		rsid, _ := v[2].(string)
		sub, _ := v[3].(string)
		if v[0] == nil || iss != issuer || rsid != sid {
			continue // gone, or the id now names another session
		}
		if exp > at && sub != subject {
			return nil, sessionstore.ErrSubjectMismatch
		}
		mine = append(mine, ids[i])
	}
	if len(mine) == 0 {
		return nil, nil
	}
	pipe = st.c.Pipeline()
	dels := make([]*redis.Cmd, len(mine))
	for i, id := range mine {
		dels[i] = subjectDeleteScript.Eval(ctx, pipe, []string{st.keys.session(id)}, at, issuer, sid, subject)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	// -1 (re-created as another subject's session since the read) is kept
	// and not returned, like 0.
	return endedOf(dels)
}

// errShortReply guards against a server that answers HMGET with the wrong
// number of values.
var errShortReply = errors.New("HMGET returned a short reply")
