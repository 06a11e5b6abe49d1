package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidc-slo/slo/logout"
)

// ReplayCacheConfig configures a ReplayCache.
type ReplayCacheConfig struct {
	// Pool is the connection pool. Required.
	Pool *pgxpool.Pool
	// Table is the replay table, "name" or "schema.name", created by
	// CreateReplaySchema. Default DefaultReplayTable.
	Table string
	// Now is the clock that decides whether an entry has expired. Default
	// time.Now.
	Now func() time.Time
}

// ReplayCache is a logout.ReplayCache on PostgreSQL, shared by every replica
// using the same database.
type ReplayCache struct {
	pool                        *pgxpool.Pool
	now                         func() time.Time
	seen, forget, deleteExpired string
}

var (
	_ logout.ReplayCache     = (*ReplayCache)(nil)
	_ logout.ReplayForgetter = (*ReplayCache)(nil)
)

// NewReplayCache returns a ReplayCache using cfg. It does not contact the
// database; call CreateReplaySchema first.
func NewReplayCache(cfg ReplayCacheConfig) (*ReplayCache, error) {
	t, now, err := checkConfig("ReplayCacheConfig", cfg.Pool, cfg.Table, DefaultReplayTable, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &ReplayCache{
		pool: cfg.Pool, now: now,
		// A row comes back if the pair was new or its old entry had
		// expired; of concurrent inserts of one pair only the first does
		// (the others wait for its row lock, then see a live entry).
		seen: `INSERT INTO ` + t.String() + ` AS r (issuer, jti, expires_at) VALUES (@issuer, @jti, @expires_at)
			ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at
			WHERE r.expires_at <= @now
			RETURNING true`,
		forget:        `DELETE FROM ` + t.String() + ` WHERE issuer = @issuer AND jti = @jti`,
		deleteExpired: `DELETE FROM ` + t.String() + ` WHERE expires_at <= @now`,
	}, nil
}

// Seen implements logout.ReplayCache with one INSERT … ON CONFLICT. An
// already expired pair is not recorded and reports false, as in
// logout.MemoryReplayCache.
func (rc *ReplayCache) Seen(ctx context.Context, issuer, id string, expires time.Time) (bool, error) {
	now := rc.now()
	if !now.Before(expires) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		return false, nil
	}
	var inserted bool
	err := rc.pool.QueryRow(ctx, rc.seen, pgx.NamedArgs{
		"issuer": issuer, "jti": id, "expires_at": expires, "now": now,
	}).Scan(&inserted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("pgstore: replay cache: %w", err)
	}
	return false, nil
}

// Forget implements logout.ReplayForgetter with one DELETE: the pair is
// forgotten, so that the OP's retry of a token whose sessions could not be
// ended is not refused as a replay. Forgetting a missing pair succeeds.
func (rc *ReplayCache) Forget(ctx context.Context, issuer, id string) error {
	if _, err := rc.pool.Exec(ctx, rc.forget, pgx.NamedArgs{"issuer": issuer, "jti": id}); err != nil {
		return fmt.Errorf("pgstore: replay cache forget: %w", err)
	}
	return nil
}

// DeleteExpired removes expired entries and reports how many it removed.
// Run it periodically, like Store.DeleteExpired.
func (rc *ReplayCache) DeleteExpired(ctx context.Context) (int, error) {
	tag, err := rc.pool.Exec(ctx, rc.deleteExpired, pgx.NamedArgs{"now": rc.now()})
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete expired replay entries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
