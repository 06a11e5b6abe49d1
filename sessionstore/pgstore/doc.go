// Package pgstore keeps slo sessions in PostgreSQL, so that every replica of
// a relying party sees the same sessions and a logout received by one
// replica ends the session on all of them.
//
// [CreateSchema] creates the table and its indexes (or take the statements
// from [SchemaSQL] into a migration), [New] returns a [Store] implementing
// [sessionstore.Store] on a [pgxpool.Pool], and [Store.DeleteExpired]
// reclaims expired rows when the caller runs it. [NewReplayCache] returns a
// [ReplayCache], a shared [logout.ReplayCache] for logout token ids, on its
// own table ([CreateReplaySchema]).
//
// Every method is one statement, atomic on its own: Create is an INSERT that
// may replace only an expired row, Update an UPDATE … WHERE expires_at > now
// that can never bring back a deleted session, and the deletes are single
// DELETE statements on indexed columns that count only live sessions. The
// Store also implements [sessionstore.SIDSubjectDeleter] (one statement that
// checks the sid's subjects and deletes on one snapshot) and the ReplayCache
// implements [logout.ReplayForgetter].
// Liveness is decided by the Go clock (Config.Now) passed into each query.
//
// The module's README.md shows the DDL, the minimum PostgreSQL version and
// the consistency argument.
package pgstore
