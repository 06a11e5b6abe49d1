package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches exactly one key (KEYS[1]), so each runs on the node
// that owns that key in Redis Cluster and is atomic there.
//
// A session record is a hash with the fields
//
//	iss, sub, sid  the session's identity, compared by the delete script
//	exp            ExpiresAt as 20-digit, zero-padded Unix nanoseconds, so
//	               that Lua can compare two times as strings exactly
//	json           the whole session as JSON (see record.go)
//
// Times in ARGV use the same encoding and come from the store's clock
// (Config.Now); key TTLs are relative (PEXPIRE / PX), see README.md.

// createScript inserts a record unless a live one exists.
// ARGV: now, exp, ttl ms, iss, sub, sid, json. Returns 1 if written, 0 if a
// live session holds the id.
var createScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'exp')
if e and e > ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'iss', ARGV[4], 'sub', ARGV[5], 'sid', ARGV[6], 'exp', ARGV[2], 'json', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// updateScript replaces a live record with the same identity; it writes
// nothing if the record is missing or expired (no resurrection).
// ARGV: now, exp, ttl ms, iss, sub, sid, json. Returns 1 if written, 0 if
// not live, -1 if the identity differs.
var updateScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'exp', 'iss', 'sub', 'sid')
if not v[1] or v[1] <= ARGV[1] then return 0 end
if v[2] ~= ARGV[4] or v[3] ~= ARGV[5] or v[4] ~= ARGV[6] then return -1 end
redis.call('HSET', KEYS[1], 'exp', ARGV[2], 'json', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// deleteScript deletes a record, optionally only if its field ARGV[2]
// equals ARGV[4] and its issuer equals ARGV[3] (index entries can outlive
// the session they named). ARGV: now, field or "", iss, value. Returns the
// record's JSON if a live session was deleted, else 0.
var deleteScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'exp', 'iss', ARGV[2] ~= '' and ARGV[2] or 'exp', 'json')
if not v[1] then return 0 end
if ARGV[2] ~= '' and (v[2] ~= ARGV[3] or v[3] ~= ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
if v[1] > ARGV[1] then return v[4] end
return 0
`)

// indexScript adds a session id to an index sorted set, scored by the
// session's expiry in Unix milliseconds (never lowering a score), drops
// entries that expired more than the grace period ago, and sets the key's
// TTL to outlive its latest entry by the grace period.
// ARGV: score, id, floor (now minus the grace period, Unix ms).
var indexScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top == 0 then return 0 end
local ttl = math.floor(tonumber(top[2]) - tonumber(ARGV[3]))
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)

// subjectDeleteScript deletes a record of the issuer ARGV[2] and sid ARGV[3]
// unless it is a live session of a subject other than ARGV[4].
// ARGV: now, iss, sid, sub. Returns the record's JSON if a live session of
// sub was deleted, 0 if nothing live was deleted (missing, another identity, or expired: an
// expired record of the sid is deleted whatever its subject), -1 if the
// record is a live session of another subject (nothing deleted).
var subjectDeleteScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'exp', 'iss', 'sid', 'sub', 'json')
if not v[1] or v[2] ~= ARGV[2] or v[3] ~= ARGV[3] then return 0 end
local live = v[1] > ARGV[1]
if live and v[4] ~= ARGV[4] then return -1 end
redis.call('DEL', KEYS[1])
if live then return v[5] end
return 0
`)

// logoutScript records a logout in a logout record: a hash with the fields
// r (ReceivedAt), i (IssuedAt) and e (ExpiresAt), each a stamp. A live
// record is merged: each field becomes the later of the stored and the new
// value, so a record moves forward and never back, and neither does its
// expiry. An expired record counts as absent. Nothing is written when the
// resulting expiry has passed. The key's TTL follows e.
// ARGV: now, r, i, e. Returns 1 if written, 0 if not.
var logoutScript = redis.NewScript(`
local r, i, e = ARGV[2], ARGV[3], ARGV[4]
local v = redis.call('HMGET', KEYS[1], 'r', 'i', 'e')
if v[3] and v[3] > ARGV[1] then
	if v[1] and v[1] > r then r = v[1] end
	if v[2] and v[2] > i then i = v[2] end
	if v[3] > e then e = v[3] end
end
if e <= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'r', r, 'i', i, 'e', e)
local ttl = math.ceil((tonumber(e) - tonumber(ARGV[1])) / 1000000)
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
return 1
`)
