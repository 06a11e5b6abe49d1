// Package memstore is the in-memory [sessionstore.Store], slo's default.
//
// A [Store] keeps sessions in memory in the process: it needs no setup,
// starts no goroutine and is safe for concurrent use. Sessions are lost
// when the process exits and are not shared between replicas; deployments
// with several replicas use the redisstore or pgstore modules instead.
//
//	store := memstore.New(memstore.Config{})
//	err := store.Create(ctx, &sessionstore.Session{ID: id, Issuer: iss, Subject: sub, SID: sid, ...})
//	ended, err := store.DeleteBySID(ctx, iss, sid) // back- or front-channel logout
//
// Finding and ending sessions by id, by (issuer, sid) and by (issuer,
// subject) takes constant time per session however many are stored, and
// touches few cache lines: one hash table holds all three indexes, records
// sit in a slab with their keys inline, and ending a session leaves the
// expiry queue alone. Expired sessions are never returned; they are
// reclaimed a few at a time by later writes (each write handles at most
// three entries of the expiry queue), so memory follows the number of live
// sessions without a background sweeper. A stored session costs about 360
// bytes with 1M sessions, its id, sid and subject included when together
// they fit in 120 bytes, plus its Data; the record slab is kept at its
// high-water mark (208 bytes per session). See the package benchmarks.
//
// [Store.DeleteBySIDAndSubject] implements the optional
// [sessionstore.SIDSubjectDeleter] under the same lock, atomically. The
// logout records of [Store.RecordLogout] live beside the sessions under
// their own lock, bounded (the oldest is forgotten when 262,144 are kept).
//
// [SingleUse] is the in-memory [sessionstore.SingleUse]: each namespace has
// its own room (MaxPerNamespace) and forgets its oldest value when full,
// never refusing one, in constant amortized time.
//
// Tests inject a clock through [Config].Now.
package memstore
