package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidc-slo/slo/sessionstore"
)

// Config configures a Store.
type Config struct {
	// Pool is the connection pool. Required.
	Pool *pgxpool.Pool
	// Table is the session table, "name" or "schema.name", created by
	// CreateSchema with its logout table (Table + "_logouts"). Default
	// DefaultTable.
	Table string
	// Now is the clock that decides whether a session is live (expires_at
	// after Now); it is passed to every query, the database's clock is
	// never used. Default time.Now.
	Now func() time.Time
}

// Store is a sessionstore.Store on PostgreSQL. It is safe for concurrent use
// and for use by many processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	sql  queries
}

// queries are the store's statements for its table.
type queries struct {
	get, create, update, identity, delete, deleteBySID, deleteBySubject, deleteBySIDAndSubject, deleteExpired string
	recordLogout, lastLogout                                                                                  string
}

var _ sessionstore.Store = (*Store)(nil)

// New returns a Store using cfg. It does not contact the database; call
// CreateSchema first (or run SchemaSQL's statements in a migration).
func New(cfg Config) (*Store, error) {
	t, now, err := checkConfig("Config", cfg.Pool, cfg.Table, DefaultTable, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Store{pool: cfg.Pool, now: now, sql: newQueries(t.String(), t.sibling(logoutsSuffix).String())}, nil
}

// checkConfig validates the fields New and NewSingleUse share, reporting
// every problem at once, and applies their defaults.
func checkConfig(name string, pool *pgxpool.Pool, table, defaultTable string, now func() time.Time) (table, func() time.Time, error) {
	var errs []error
	if pool == nil {
		errs = append(errs, fmt.Errorf("pgstore: %s.Pool is required", name))
	}
	if table == "" {
		table = defaultTable
	}
	t, err := parseTable(table)
	if err != nil {
		errs = append(errs, err)
	}
	if now == nil {
		now = time.Now
	}
	return t, now, errors.Join(errs...)
}

// newQueries returns the statements on the session table t and the logout
// table l.
func newQueries(t, l string) queries {
	// deleted returns the rows a DELETE … RETURNING removed that were
	// still live at $now.
	const deleted = ` RETURNING ` + columns + `) SELECT ` + columns + ` FROM d WHERE expires_at > @now`
	return queries{
		get: `SELECT issuer, subject, sid, created_at, expires_at, data FROM ` + t +
			` WHERE id = @id AND expires_at > @now`,
		// An expired row with the same id is replaced; a live one is not.
		create: `INSERT INTO ` + t + ` AS s (id, issuer, subject, sid, created_at, expires_at, data)
			VALUES (@id, @issuer, @subject, @sid, @created_at, @expires_at, @data)
			ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
				sid = excluded.sid, created_at = excluded.created_at,
				expires_at = excluded.expires_at, data = excluded.data
			WHERE s.expires_at <= @now`,
		update: `UPDATE ` + t + ` SET created_at = @created_at, expires_at = @expires_at, data = @data
			WHERE id = @id AND expires_at > @now
				AND issuer = @issuer AND subject = @subject AND sid = @sid`,
		identity: `SELECT issuer, subject, sid FROM ` + t + ` WHERE id = @id AND expires_at > @now`,
		delete:   `WITH d AS (DELETE FROM ` + t + ` WHERE id = @id` + deleted,
		// "sid <> ''" lets the planner use the partial (issuer, sid) index.
		deleteBySID:     `WITH d AS (DELETE FROM ` + t + ` WHERE issuer = @issuer AND sid = @sid AND sid <> ''` + deleted,
		deleteBySubject: `WITH d AS (DELETE FROM ` + t + ` WHERE issuer = @issuer AND subject = @subject` + deleted,
		deleteExpired: `WITH s AS (DELETE FROM ` + t + ` WHERE expires_at <= @now RETURNING 1),
				l AS (DELETE FROM ` + l + ` WHERE expires_at <= @now RETURNING 1)
			SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM l)`,
		// One upsert. A live row is merged: each time and the expiry
		// become the later of the two (GREATEST ignores NULL, which
		// stands for no time). An expired row counts as absent and is
		// replaced. A record that has already expired is written only
		// into a live row, where it can move the times forward.
		recordLogout: `INSERT INTO ` + l + ` AS l (issuer, kind, value, received_at, issued_at, expires_at)
			SELECT @issuer::text, @kind::text, @value::text, @received_at::timestamptz, @issued_at::timestamptz, @expires_at::timestamptz
			WHERE @expires_at::timestamptz > @now::timestamptz OR EXISTS (SELECT 1 FROM ` + l + `
				WHERE issuer = @issuer AND kind = @kind AND value = @value AND expires_at > @now)
			ON CONFLICT (issuer, kind, value) DO UPDATE SET
				received_at = CASE WHEN l.expires_at > @now THEN GREATEST(l.received_at, excluded.received_at) ELSE excluded.received_at END,
				issued_at = CASE WHEN l.expires_at > @now THEN GREATEST(l.issued_at, excluded.issued_at) ELSE excluded.issued_at END,
				expires_at = CASE WHEN l.expires_at > @now THEN GREATEST(l.expires_at, excluded.expires_at) ELSE excluded.expires_at END`,
		// Both records in one query; an empty sid or subject matches
		// nothing. max over no rows is NULL: no time.
		lastLogout: `SELECT max(received_at), max(issued_at) FROM ` + l + `
			WHERE issuer = @issuer AND expires_at > @now
				AND ((kind = 'sid' AND value = @sid AND @sid <> '') OR (kind = 'sub' AND value = @subject AND @subject <> ''))`,
		// other is evaluated once, on the statement's snapshot, and gates
		// the DELETE. The DELETE's own subject test matters only for a row
		// changed by a concurrent transaction (an expired row replaced by a
		// Create of another subject), which PostgreSQL re-checks against
		// this WHERE clause before deleting it.
		deleteBySIDAndSubject: `WITH other AS (
				SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE issuer = @issuer AND sid = @sid AND sid <> ''
					AND expires_at > @now AND subject <> @subject) AS mismatch
			), d AS (
				DELETE FROM ` + t + ` WHERE issuer = @issuer AND sid = @sid AND sid <> ''
					AND (subject = @subject OR expires_at <= @now)
					AND NOT (SELECT mismatch FROM other)
				RETURNING ` + columns + `
			)
			SELECT (SELECT mismatch FROM other), d.id, d.issuer, d.subject, d.sid, d.created_at, d.expires_at, d.data
			FROM (SELECT 1) AS one LEFT JOIN d ON d.expires_at > @now`,
	}
}

// Get implements sessionstore.Store with one SELECT.
func (st *Store) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	s := &sessionstore.Session{ID: id}
	var data []byte
	err := st.pool.QueryRow(ctx, st.sql.get, pgx.NamedArgs{"id": id, "now": st.now()}).
		Scan(&s.Issuer, &s.Subject, &s.SID, &s.CreatedAt, &s.ExpiresAt, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sessionstore.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get session: %w", err)
	}
	if err := json.Unmarshal(data, &s.Data); err != nil {
		return nil, fmt.Errorf("pgstore: get session: decode data: %w", err)
	}
	return s, nil
}

// Create implements sessionstore.Store with one INSERT … ON CONFLICT, which
// replaces a row with the same id only if that row has expired.
func (st *Store) Create(ctx context.Context, s *sessionstore.Session) error {
	args, err := st.args(s)
	if err != nil {
		return fmt.Errorf("pgstore: create session: %w", err)
	}
	tag, err := st.pool.Exec(ctx, st.sql.create, args)
	if err != nil {
		return fmt.Errorf("pgstore: create session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return sessionstore.ErrExists
	}
	return nil
}

// Update implements sessionstore.Store with one UPDATE … WHERE expires_at >
// now, which never inserts: a deleted or expired session stays gone.
func (st *Store) Update(ctx context.Context, s *sessionstore.Session) error {
	args, err := st.args(s)
	if err != nil {
		return fmt.Errorf("pgstore: update session: %w", err)
	}
	tag, err := st.pool.Exec(ctx, st.sql.update, args)
	if err != nil {
		return fmt.Errorf("pgstore: update session: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing written: tell a missing session from a changed identity. A
	// session with the same identity found now was created after the
	// UPDATE ran, which therefore still did not find it.
	var iss, sub, sid string
	err = st.pool.QueryRow(ctx, st.sql.identity, args).Scan(&iss, &sub, &sid)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sessionstore.ErrNotFound
	case err != nil:
		return fmt.Errorf("pgstore: update session: %w", err)
	case iss == s.Issuer && sub == s.Subject && sid == s.SID:
		return sessionstore.ErrNotFound
	}
	return errors.New("pgstore: update session: Issuer, Subject and SID must not change")
}

func (st *Store) args(s *sessionstore.Session) (pgx.NamedArgs, error) {
	if s == nil {
		return nil, errors.New("nil session")
	}
	data, err := json.Marshal(s.Data)
	if err != nil {
		return nil, fmt.Errorf("encode data: %w", err)
	}
	return pgx.NamedArgs{
		"id": s.ID, "issuer": s.Issuer, "subject": s.Subject, "sid": s.SID,
		"created_at": s.CreatedAt, "expires_at": s.ExpiresAt, "data": data, "now": st.now(),
	}, nil
}

// Delete implements sessionstore.Store with one DELETE.
func (st *Store) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	ss, err := st.deleted(ctx, st.sql.delete, pgx.NamedArgs{"id": id})
	if err != nil {
		return nil, fmt.Errorf("pgstore: delete session: %w", err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss[0], nil
}

// DeleteBySID implements sessionstore.Store with one DELETE.
func (st *Store) DeleteBySID(ctx context.Context, issuer, sid string) ([]*sessionstore.Session, error) {
	if sid == "" {
		return nil, nil
	}
	ss, err := st.deleted(ctx, st.sql.deleteBySID, pgx.NamedArgs{"issuer": issuer, "sid": sid})
	if err != nil {
		return nil, fmt.Errorf("pgstore: delete sessions by sid: %w", err)
	}
	return ss, nil
}

// DeleteBySubject implements sessionstore.Store with one DELETE.
func (st *Store) DeleteBySubject(ctx context.Context, issuer, subject string) ([]*sessionstore.Session, error) {
	if subject == "" {
		return nil, nil
	}
	ss, err := st.deleted(ctx, st.sql.deleteBySubject, pgx.NamedArgs{"issuer": issuer, "subject": subject})
	if err != nil {
		return nil, fmt.Errorf("pgstore: delete sessions by subject: %w", err)
	}
	return ss, nil
}

// columns are a session's columns, in the order scanSession reads them.
const columns = `id, issuer, subject, sid, created_at, expires_at, data`

// deleted runs a DELETE that returns the live sessions it removed; expired
// rows it matches are removed too but not returned.
func (st *Store) deleted(ctx context.Context, sql string, args pgx.NamedArgs) ([]*sessionstore.Session, error) {
	args["now"] = st.now()
	rows, err := st.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	var ss []*sessionstore.Session
	for rows.Next() {
		s := &sessionstore.Session{}
		var data []byte
		if err := rows.Scan(&s.ID, &s.Issuer, &s.Subject, &s.SID, &s.CreatedAt, &s.ExpiresAt, &data); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal(data, &s.Data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decode data: %w", err)
		}
		ss = append(ss, s)
	}
	return ss, rows.Err()
}

// DeleteExpired removes every expired session and every expired logout
// record, in one statement, and reports how many rows it removed. Expired
// rows are never returned, so this only reclaims space; run it
// periodically (for example hourly) from one replica or a cron job, with
// SingleUse.DeleteExpired. The store starts no goroutine of its own.
func (st *Store) DeleteExpired(ctx context.Context) (int, error) {
	var n int
	if err := st.pool.QueryRow(ctx, st.sql.deleteExpired, pgx.NamedArgs{"now": st.now()}).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: delete expired sessions and logout records: %w", err)
	}
	return n, nil
}
