// Package redisstore keeps slo sessions in Redis, so that every replica of
// a relying party sees the same sessions and a logout received by one
// replica ends the session on all of them.
//
// [New] returns a [Store] implementing [sessionstore.Store] on any
// [redis.UniversalClient]: a single node, a Sentinel failover client or a
// Redis Cluster client. [NewReplayCache] returns a [ReplayCache], a shared
// [logout.ReplayCache] for logout token ids.
//
// Each session is one hash, indexed by one sorted set per (issuer, sid) and
// one per (issuer, subject). Every atomic step is a command or Lua script on
// a single key, so the store works on Redis Cluster without hash tags.
// Index entries are written before the record, and Update rewrites the
// record only if it is still live, so a session is always findable by its
// sid and subject while it can be read, and a logout is never undone by a
// concurrent Update. Round trips: Get one; Create and Update two; Delete
// one; DeleteBySID and DeleteBySubject at most two whatever the number of
// sessions.
//
// The Store also implements [sessionstore.SIDSubjectDeleter]
// ([Store.DeleteBySIDAndSubject]: two round trips for a sid with one
// session, three for several; its method comment says what atomicity that
// gives on Cluster), and the ReplayCache implements
// [logout.ReplayForgetter].
//
// The module's README.md gives the key layout, the minimum server version
// (Redis 6.2, or Valkey) and the consistency argument.
package redisstore
