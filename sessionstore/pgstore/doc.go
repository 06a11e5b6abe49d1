// Package pgstore keeps slo sessions in PostgreSQL, so that every replica of
// a relying party sees the same sessions and a logout received by one
// replica ends the session on all of them.
//
// [CreateSchema] creates a Store's tables (the session table and its
// logout table) and their indexes, or take the statements from [SchemaSQL]
// into a migration; [New] returns a [Store] implementing
// [sessionstore.Store] on a [pgxpool.Pool], and [Store.DeleteExpired]
// reclaims expired sessions and logout records when the caller runs it.
// [NewSingleUse] returns a [SingleUse], a shared [sessionstore.SingleUse]
// for login and logout states and logout token ids, on its own table
// ([CreateSingleUseSchema]), with its own [SingleUse.DeleteExpired].
//
// Every method is one statement, atomic on its own: Create is an INSERT that
// may replace only an expired row, Update an UPDATE … WHERE expires_at > now
// that can never bring back a deleted session, and the deletes are single
// DELETE statements on indexed columns that count only live sessions.
// RecordLogout is one upsert that keeps the later of each time and of the
// expiry (GREATEST); LastLogout one SELECT over the OP session's and the
// subject's records. SingleUse.Use is one INSERT … ON CONFLICT … WHERE
// expires_at <= now RETURNING, one row per (namespace, issuer, id), bounded
// by no count. The Store also implements [sessionstore.SIDSubjectDeleter]
// (one statement that checks the sid's subjects and deletes on one
// snapshot). Liveness is decided by the Go clock (Config.Now) passed into
// each query.
//
// The module's README.md shows the DDL, the minimum PostgreSQL version and
// the consistency argument.
package pgstore
