// Package redisstore keeps slo sessions in Redis, so that every replica of
// a relying party sees the same sessions and a logout received by one
// replica ends the session on all of them.
//
// [New] returns a [Store] implementing [sessionstore.Store] on any
// [redis.UniversalClient]: a single node, a Sentinel failover client or a
// Redis Cluster client. [NewSingleUse] returns a [SingleUse], a shared
// [sessionstore.SingleUse] for login and logout states and logout token
// ids.
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
// A logout record ([Store.RecordLogout]) is one hash per (issuer, sid) or
// (issuer, subject), updated by one script that keeps the later of each
// time and of the expiry; [Store.LastLogout] reads the sid's and the
// subject's records in one round trip and merges them. A [SingleUse] value
// is one key per (namespace, issuer, id), written with SET NX PX: nothing
// is bounded by a count, so no value is refused or forgotten because of
// others.
//
// The Store also implements [sessionstore.SIDSubjectDeleter]
// ([Store.DeleteBySIDAndSubject]: two round trips for a sid with one
// session, three for several; its method comment says what atomicity that
// gives on Cluster).
//
// Every key has a TTL. The module's README.md gives the key layout, the
// minimum server version (Redis 6.2, or Valkey), the memory advice and the
// consistency argument.
package redisstore
