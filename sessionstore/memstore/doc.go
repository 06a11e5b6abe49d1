// Package memstore is the in-memory [sessionstore.Store], slo's default.
//
// A [Store] keeps sessions in maps in the process: it needs no setup,
// starts no goroutine and is safe for concurrent use. Sessions are lost
// when the process exits and are not shared between replicas; deployments
// with several replicas use the redisstore or pgstore modules instead.
//
//	store := memstore.New(memstore.Config{})
//	err := store.Create(ctx, &sessionstore.Session{ID: id, Issuer: iss, Subject: sub, SID: sid, ...})
//	n, err := store.DeleteBySID(ctx, iss, sid) // back- or front-channel logout
//
// Finding and ending sessions by id, by (issuer, sid) and by (issuer,
// subject) takes constant time per session however many are stored.
// Expired sessions are never returned; they are reclaimed a few at a time
// by later writes (each write reclaims at most two), so memory follows the
// number of live sessions without a background sweeper. A stored session
// costs about 370 bytes, its id, sid and subject included, plus its Data;
// see the package benchmarks.
//
// [Store.DeleteBySIDAndSubject] implements the optional
// [sessionstore.SIDSubjectDeleter] under the same lock, atomically.
//
// Tests inject a clock through [Config].Now.
package memstore
