package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultTable is the session table used when Config.Table is empty.
const DefaultTable = "slo_sessions"

// DefaultReplayTable is the replay cache table used when
// ReplayCacheConfig.Table is empty.
const DefaultReplayTable = "slo_replay"

// maxTableName leaves room for the longest index suffix within PostgreSQL's
// 63-byte identifier limit, so that index names are never truncated into
// each other.
const maxTableName = 63 - len("_issuer_subject_idx")

// table is a validated table name: optionally schema-qualified.
type table struct {
	ident pgx.Identifier // schema (optional) and table name
}

// parseTable validates name, "table" or "schema.table".
func parseTable(name string) (table, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return table{}, fmt.Errorf("pgstore: table name %q: want table or schema.table", name)
	}
	var errs []error
	for _, p := range parts {
		switch {
		case p == "":
			errs = append(errs, fmt.Errorf("pgstore: table name %q has an empty part", name))
		case strings.ContainsRune(p, 0):
			errs = append(errs, fmt.Errorf("pgstore: table name %q contains a NUL byte", name))
		case len(p) > maxTableName:
			errs = append(errs, fmt.Errorf("pgstore: table name part %q is longer than %d bytes", p, maxTableName))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return table{}, err
	}
	return table{pgx.Identifier(parts)}, nil
}

// String returns the quoted, possibly schema-qualified name for SQL.
func (t table) String() string { return t.ident.Sanitize() }

// index returns the quoted name of an index on t; indexes live in the
// table's schema, so the name is never qualified.
func (t table) index(suffix string) string {
	return pgx.Identifier{t.ident[len(t.ident)-1] + suffix}.Sanitize()
}

// SchemaSQL returns the statements that create the session table named
// table (DefaultTable if empty) and its indexes, for use with a migration
// tool. CreateSchema runs them. Every statement is idempotent.
func SchemaSQL(table string) ([]string, error) {
	if table == "" {
		table = DefaultTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t.String() + ` (
	id         text        PRIMARY KEY,
	issuer     text        NOT NULL,
	subject    text        NOT NULL,
	sid        text        NOT NULL, -- '' when the OP sent no sid
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	data       bytea       NOT NULL  -- sessionstore.Data as JSON
)`,
		`CREATE INDEX IF NOT EXISTS ` + t.index("_issuer_sid_idx") + ` ON ` + t.String() + ` (issuer, sid) WHERE sid <> ''`,
		`CREATE INDEX IF NOT EXISTS ` + t.index("_issuer_subject_idx") + ` ON ` + t.String() + ` (issuer, subject)`,
		`CREATE INDEX IF NOT EXISTS ` + t.index("_expires_at_idx") + ` ON ` + t.String() + ` (expires_at)`,
	}, nil
}

// ReplaySchemaSQL returns the statements that create the replay cache table
// named table (DefaultReplayTable if empty). CreateReplaySchema runs them.
func ReplaySchemaSQL(table string) ([]string, error) {
	if table == "" {
		table = DefaultReplayTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t.String() + ` (
	issuer     text        NOT NULL,
	jti        text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (issuer, jti)
)`,
		`CREATE INDEX IF NOT EXISTS ` + t.index("_expires_at_idx") + ` ON ` + t.String() + ` (expires_at)`,
	}, nil
}

// CreateSchema creates the session table named table (DefaultTable if
// empty) and its indexes unless they exist. It is safe to call from several
// replicas at once: it serialises on a transaction-level advisory lock.
func CreateSchema(ctx context.Context, pool *pgxpool.Pool, table string) error {
	stmts, err := SchemaSQL(table)
	if err != nil {
		return err
	}
	return runSchema(ctx, pool, stmts)
}

// CreateReplaySchema creates the replay cache table named table
// (DefaultReplayTable if empty) unless it exists, like CreateSchema.
func CreateReplaySchema(ctx context.Context, pool *pgxpool.Pool, table string) error {
	stmts, err := ReplaySchemaSQL(table)
	if err != nil {
		return err
	}
	return runSchema(ctx, pool, stmts)
}

func runSchema(ctx context.Context, pool *pgxpool.Pool, stmts []string) error {
	if pool == nil {
		return errors.New("pgstore: create schema: nil pool")
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Concurrent CREATE TABLE IF NOT EXISTS can still fail on the
		// catalog's unique indexes; one lock for all slo schemas avoids it.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('github.com/oidc-slo/slo/sessionstore/pgstore'))`); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: create schema: %w", err)
	}
	return nil
}
