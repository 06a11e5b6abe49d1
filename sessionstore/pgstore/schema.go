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

// DefaultSingleUseTable is the SingleUse table used when
// SingleUseConfig.Table is empty.
const DefaultSingleUseTable = "slo_single_use"

// logoutsSuffix names a session table's logout table: the session table's
// name followed by it.
const logoutsSuffix = "_logouts"

// maxTableName leaves room for the longest name derived from a table name
// (the logout table's expires_at index) within PostgreSQL's 63-byte
// identifier limit, so that derived names are never truncated into each
// other.
const maxTableName = 63 - len(logoutsSuffix+"_expires_at_idx")

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

// sibling returns the table in t's schema whose name is t's followed by
// suffix.
func (t table) sibling(suffix string) table {
	id := append(pgx.Identifier(nil), t.ident...)
	id[len(id)-1] += suffix
	return table{id}
}

// SchemaSQL returns the statements that create a Store's tables and their
// indexes, for use with a migration tool: the session table named table
// (DefaultTable if empty) and its logout table, named table + "_logouts",
// which keeps the logout records (Store.RecordLogout). CreateSchema runs
// them. Every statement is idempotent.
func SchemaSQL(table string) ([]string, error) {
	if table == "" {
		table = DefaultTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	l := t.sibling(logoutsSuffix)
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
		`CREATE TABLE IF NOT EXISTS ` + l.String() + ` (
	issuer      text        NOT NULL,
	kind        text        NOT NULL CHECK (kind IN ('sid', 'sub')),
	value       text        NOT NULL, -- the sid, or the subject
	received_at timestamptz,          -- NULL: none
	issued_at   timestamptz,          -- NULL: the logout carried no iat
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (issuer, kind, value)
)`,
		`CREATE INDEX IF NOT EXISTS ` + l.index("_expires_at_idx") + ` ON ` + l.String() + ` (expires_at)`,
	}, nil
}

// SingleUseSchemaSQL returns the statements that create the SingleUse
// table named table (DefaultSingleUseTable if empty) and its index.
// CreateSingleUseSchema runs them. Every statement is idempotent.
func SingleUseSchemaSQL(table string) ([]string, error) {
	if table == "" {
		table = DefaultSingleUseTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t.String() + ` (
	namespace  text        NOT NULL,
	issuer     text        NOT NULL,
	id         text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (namespace, issuer, id)
)`,
		`CREATE INDEX IF NOT EXISTS ` + t.index("_expires_at_idx") + ` ON ` + t.String() + ` (expires_at)`,
	}, nil
}

// CreateSchema creates a Store's tables, the session table named table
// (DefaultTable if empty) and its logout table, with their indexes, unless
// they exist (see SchemaSQL). It is safe to call from several replicas at
// once: it serialises on a transaction-level advisory lock. Run it again
// after upgrading slo: it adds what a newer Store needs.
func CreateSchema(ctx context.Context, pool *pgxpool.Pool, table string) error {
	stmts, err := SchemaSQL(table)
	if err != nil {
		return err
	}
	return runSchema(ctx, pool, stmts)
}

// CreateSingleUseSchema creates the SingleUse table named table
// (DefaultSingleUseTable if empty) unless it exists, like CreateSchema.
func CreateSingleUseSchema(ctx context.Context, pool *pgxpool.Pool, table string) error {
	stmts, err := SingleUseSchemaSQL(table)
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
