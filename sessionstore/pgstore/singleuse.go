package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidc-slo/slo/sessionstore"
)

// SingleUseConfig configures a SingleUse.
type SingleUseConfig struct {
	// Pool is the connection pool. Required.
	Pool *pgxpool.Pool
	// Table is the SingleUse table, "name" or "schema.name", created by
	// CreateSingleUseSchema. Default DefaultSingleUseTable.
	Table string
	// Now is the clock that decides whether a value has expired. Default
	// time.Now.
	Now func() time.Time
}

// SingleUse is a [sessionstore.SingleUse] on PostgreSQL, shared by every
// replica using the same database. Each value is one row keyed by
// (namespace, issuer, id); nothing is bounded by a count, so no value is
// refused or forgotten because of others. Expired rows are never reported
// as used but stay until DeleteExpired removes them (or a new use of the
// same key replaces them).
type SingleUse struct {
	pool                                 *pgxpool.Pool
	now                                  func() time.Time
	use, recorded, forget, deleteExpired string
}

var _ sessionstore.SingleUse = (*SingleUse)(nil)

// NewSingleUse returns a SingleUse using cfg. It does not contact the
// database; call CreateSingleUseSchema first.
func NewSingleUse(cfg SingleUseConfig) (*SingleUse, error) {
	t, now, err := checkConfig("SingleUseConfig", cfg.Pool, cfg.Table, DefaultSingleUseTable, cfg.Now)
	if err != nil {
		return nil, err
	}
	const key = `namespace = @namespace AND issuer = @issuer AND id = @id`
	return &SingleUse{
		pool: cfg.Pool, now: now,
		// A row comes back if the key was new or its old row had
		// expired; of concurrent inserts of one key only the first does
		// (the others wait for its row lock, then see a live row).
		use: `INSERT INTO ` + t.String() + ` AS u (namespace, issuer, id, expires_at)
			VALUES (@namespace, @issuer, @id, @expires_at)
			ON CONFLICT (namespace, issuer, id) DO UPDATE SET expires_at = excluded.expires_at
			WHERE u.expires_at <= @now
			RETURNING true`,
		recorded:      `SELECT EXISTS (SELECT 1 FROM ` + t.String() + ` WHERE ` + key + ` AND expires_at > @now)`,
		forget:        `DELETE FROM ` + t.String() + ` WHERE ` + key,
		deleteExpired: `DELETE FROM ` + t.String() + ` WHERE expires_at <= @now`,
	}, nil
}

// Use implements [sessionstore.SingleUse] with one INSERT … ON CONFLICT …
// WHERE expires_at <= now RETURNING: a row back means a first use. For an
// expires that has already passed nothing is recorded: Use then only asks
// whether the key is still recorded (one SELECT).
func (u *SingleUse) Use(ctx context.Context, k sessionstore.Key, expires time.Time) (bool, error) {
	now := u.now()
	args := pgx.NamedArgs{"namespace": string(k.Namespace), "issuer": k.Issuer, "id": k.ID, "expires_at": expires, "now": now}
	if !now.Before(expires) {
		var used bool
		if err := u.pool.QueryRow(ctx, u.recorded, args).Scan(&used); err != nil {
			return false, fmt.Errorf("pgstore: single use: %w", err)
		}
		return used, nil
	}
	var first bool
	err := u.pool.QueryRow(ctx, u.use, args).Scan(&first)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("pgstore: single use: %w", err)
	}
	return false, nil
}

// Forget implements [sessionstore.SingleUse] with one DELETE. Forgetting a
// key that is not recorded succeeds.
func (u *SingleUse) Forget(ctx context.Context, k sessionstore.Key) error {
	_, err := u.pool.Exec(ctx, u.forget, pgx.NamedArgs{"namespace": string(k.Namespace), "issuer": k.Issuer, "id": k.ID})
	if err != nil {
		return fmt.Errorf("pgstore: single use forget: %w", err)
	}
	return nil
}

// DeleteExpired removes expired values and reports how many it removed.
// Run it periodically, like Store.DeleteExpired.
func (u *SingleUse) DeleteExpired(ctx context.Context) (int, error) {
	tag, err := u.pool.Exec(ctx, u.deleteExpired, pgx.NamedArgs{"now": u.now()})
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete expired single-use values: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
