package redisstore

import "encoding/base64"

// Key layout (see README.md). Every variable part is base64url-encoded
// without padding, so it never contains ':', '{' or '}': two different
// (issuer, value) pairs can never produce the same key, and no caller-supplied
// value can act as a Redis Cluster hash tag.
//
//	<prefix>s:<b64(id)>                  hash: one session record
//	<prefix>sid:<b64(iss)>:<b64(sid)>    sorted set: ids of sessions with that sid
//	<prefix>sub:<b64(iss)>:<b64(sub)>    sorted set: ids of sessions of that subject
//	<prefix>jti:<b64(iss)>:<b64(jti)>    string: a logout token seen by ReplayCache

var b64 = base64.RawURLEncoding

// keys builds the keys of one store. The zero value is not usable.
type keys struct{ prefix string }

func (k keys) session(id string) string { return k.prefix + "s:" + b64.EncodeToString([]byte(id)) }

func (k keys) bySID(iss, sid string) string { return k.pair("sid:", iss, sid) }

func (k keys) bySubject(iss, sub string) string { return k.pair("sub:", iss, sub) }

func (k keys) replay(iss, jti string) string { return k.pair("jti:", iss, jti) }

func (k keys) pair(kind, a, b string) string {
	return k.prefix + kind + b64.EncodeToString([]byte(a)) + ":" + b64.EncodeToString([]byte(b))
}
