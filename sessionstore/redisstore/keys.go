package redisstore

import "encoding/base64"

// Key layout (see README.md). Every variable part is base64url-encoded
// without padding, so it never contains ':', '{' or '}': two different
// tuples of values can never produce the same key, and no caller-supplied
// value can act as a Redis Cluster hash tag. The kind (the first segment
// after the prefix) tells the kinds of keys apart.
//
//	<prefix>s:<b64(id)>                          hash: one session record
//	<prefix>sid:<b64(iss)>:<b64(sid)>            sorted set: ids of sessions with that sid
//	<prefix>sub:<b64(iss)>:<b64(sub)>            sorted set: ids of sessions of that subject
//	<prefix>lo-sid:<b64(iss)>:<b64(sid)>         hash: logout record of an OP session
//	<prefix>lo-sub:<b64(iss)>:<b64(sub)>         hash: logout record of every session of a subject
//	<prefix>use:<b64(ns)>:<b64(iss)>:<b64(id)>   string: a value recorded by SingleUse

var b64 = base64.RawURLEncoding

// keys builds the keys of one store. The zero value is not usable.
type keys struct{ prefix string }

func (k keys) session(id string) string { return k.prefix + "s:" + enc(id) }

func (k keys) bySID(iss, sid string) string { return k.prefix + "sid:" + enc(iss) + ":" + enc(sid) }

func (k keys) bySubject(iss, sub string) string { return k.prefix + "sub:" + enc(iss) + ":" + enc(sub) }

func (k keys) logoutSID(iss, sid string) string {
	return k.prefix + "lo-sid:" + enc(iss) + ":" + enc(sid)
}

func (k keys) logoutSubject(iss, sub string) string {
	return k.prefix + "lo-sub:" + enc(iss) + ":" + enc(sub)
}

func (k keys) singleUse(ns, iss, id string) string {
	return k.prefix + "use:" + enc(ns) + ":" + enc(iss) + ":" + enc(id)
}

func enc(s string) string { return b64.EncodeToString([]byte(s)) }
