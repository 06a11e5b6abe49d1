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

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "slo:"

// indexGrace is how long an index entry outlives the session it names,
// so that replicas whose clocks differ by less than this never drop an
// entry another replica still considers live.
const indexGrace = time.Minute

// Config configures a Store.
type Config struct {
	// Client is the Redis connection: a *redis.Client, a failover
	// (Sentinel) client or a *redis.ClusterClient. Required.
	Client redis.UniversalClient
	// Prefix starts every key the store writes. Default DefaultPrefix.
	// A prefix containing a {hash tag} puts every key in one Cluster slot.
	Prefix string
	// Now is the clock that decides whether a session is live (ExpiresAt
	// after Now). Redis only uses relative TTLs derived from it to reclaim
	// memory, so the Redis server's clock does not matter. Default time.Now.
	Now func() time.Time
}

// Store is a sessionstore.Store on Redis. It is safe for concurrent use and
// for use by many processes sharing one Redis deployment.
type Store struct {
	c    redis.UniversalClient
	keys keys
	now  func() time.Time
}

var _ sessionstore.Store = (*Store)(nil)

// New returns a Store using cfg. It does not contact Redis.
func New(cfg Config) (*Store, error) {
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("redisstore: Config.Client is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{c: cfg.Client, keys: keys{cfg.Prefix}, now: cfg.Now}, nil
}

// Get implements sessionstore.Store. One round trip (HGET).
func (st *Store) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	v, err := st.c.HGet(ctx, st.keys.session(id), "json").Result()
	if errors.Is(err, redis.Nil) {
		return nil, sessionstore.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get session: %w", err)
	}
	s, err := decodeSession(v)
	if err != nil {
		return nil, err
	}
	if !st.now().Before(s.ExpiresAt) {
		return nil, sessionstore.ErrNotFound
	}
	return s, nil
}

// Create implements sessionstore.Store. Two round trips: the index entries
// first (one pipeline), then the record (one script), so that a session is
// findable by both indexes whenever Get can return it.
func (st *Store) Create(ctx context.Context, s *sessionstore.Session) error {
	n, err := st.write(ctx, createScript, s)
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	if n == 0 {
		return sessionstore.ErrExists
	}
	return nil
}

// Update implements sessionstore.Store. Two round trips like Create; the
// record script writes only if the stored session is still live and has the
// same issuer, subject and sid, so a deleted session is never recreated.
func (st *Store) Update(ctx context.Context, s *sessionstore.Session) error {
	n, err := st.write(ctx, updateScript, s)
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: update session: %w", err)
	case n == 0:
		return sessionstore.ErrNotFound
	case n < 0:
		return errors.New("redisstore: update session: Issuer, Subject and SID must not change")
	}
	return nil
}

// write indexes s, then runs script (createScript or updateScript) on its
// record and returns the script's result.
func (st *Store) write(ctx context.Context, script *redis.Script, s *sessionstore.Session) (int64, error) {
	if s == nil {
		return 0, errors.New("nil session")
	}
	js, err := encodeSession(s)
	if err != nil {
		return 0, err
	}
	now := st.now()
	if err := st.index(ctx, s, now); err != nil {
		return 0, err
	}
	return script.Eval(ctx, st.c, []string{st.keys.session(s.ID)},
		stamp(now), stamp(s.ExpiresAt), ttl(s.ExpiresAt, now),
		s.Issuer, s.Subject, s.SID, js).Int64()
}

// index adds s.ID to the (issuer, sid) and (issuer, subject) sets in one
// pipeline. Entries are scored by expiry and extended, never shortened.
func (st *Store) index(ctx context.Context, s *sessionstore.Session, now time.Time) error {
	score := strconv.FormatInt(s.ExpiresAt.UnixMilli()+1, 10) // rounded up
	floor := strconv.FormatInt(now.Add(-indexGrace).UnixMilli(), 10)
	pipe := st.c.Pipeline()
	if s.SID != "" {
		indexScript.Eval(ctx, pipe, []string{st.keys.bySID(s.Issuer, s.SID)}, score, s.ID, floor)
	}
	indexScript.Eval(ctx, pipe, []string{st.keys.bySubject(s.Issuer, s.Subject)}, score, s.ID, floor)
	_, err := pipe.Exec(ctx)
	return err
}

// Delete implements sessionstore.Store. One round trip. Index entries are
// left to expire (see README.md).
func (st *Store) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	v, err := deleteScript.Eval(ctx, st.c, []string{st.keys.session(id)}, stamp(st.now()), "", "", "").Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete session: %w", err)
	}
	s, err := ended(v)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete session: %w", err)
	}
	return s, nil
}

// ended decodes a delete script's answer: the JSON of the live session it
// deleted, or 0 (none).
func ended(v any) (*sessionstore.Session, error) {
	js, ok := v.(string)
	if !ok {
		return nil, nil
	}
	return decodeSession(js)
}

// DeleteBySID implements sessionstore.Store. At most two round trips
// whatever the number of sessions: read the index, then delete every record
// it names in one pipeline.
func (st *Store) DeleteBySID(ctx context.Context, issuer, sid string) ([]*sessionstore.Session, error) {
	if sid == "" {
		return nil, nil
	}
	ss, err := st.deleteIndexed(ctx, st.keys.bySID(issuer, sid), "sid", issuer, sid)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete sessions by sid: %w", err)
	}
	return ss, nil
}

// DeleteBySubject implements sessionstore.Store, like DeleteBySID.
func (st *Store) DeleteBySubject(ctx context.Context, issuer, subject string) ([]*sessionstore.Session, error) {
	if subject == "" {
		return nil, nil
	}
	ss, err := st.deleteIndexed(ctx, st.keys.bySubject(issuer, subject), "sub", issuer, subject)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete sessions by subject: %w", err)
	}
	return ss, nil
}

// deleteIndexed deletes the records named by the index key whose issuer and
// field match; an entry can name a session that has since been deleted and
// re-created with another identity.
func (st *Store) deleteIndexed(ctx context.Context, key, field, issuer, value string) ([]*sessionstore.Session, error) {
	now := st.now()
	ids, err := st.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: key, ByScore: true,
		Start: strconv.FormatInt(now.Add(-indexGrace).UnixMilli(), 10), Stop: "+inf",
	}).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	pipe := st.c.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	at := stamp(now)
	for i, id := range ids {
		cmds[i] = deleteScript.Eval(ctx, pipe, []string{st.keys.session(id)}, at, field, issuer, value)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	return endedOf(cmds)
}

// endedOf collects the sessions a pipeline of delete scripts ended.
func endedOf(cmds []*redis.Cmd) ([]*sessionstore.Session, error) {
	var ss []*sessionstore.Session
	for _, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, err
		}
		s, err := ended(v)
		if err != nil {
			return nil, err
		}
		if s != nil {
			ss = append(ss, s)
		}
	}
	return ss, nil
}
