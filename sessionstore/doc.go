// Package sessionstore defines the server-side session record and the Store
// contract that every slo session backend implements.
//
// Logout requests from an OpenID Provider carry no usable browser cookie, so
// slo keeps sessions on the server and finds them by the OP's session id. A
// Store therefore indexes every [Session] three ways: by its id (the hash of
// the cookie token), by (issuer, sid) and by (issuer, subject).
//
// The contract, which [github.com/oidc-slo/slo/sessionstore/storetest]
// checks for any implementation:
//
//   - Get returns the live session or an error matching [ErrNotFound]
//     (missing or expired).
//   - Create inserts only: [ErrExists] if the id is taken. Afterwards the
//     session is reachable by both indexes for as long as Get returns it.
//   - Update writes only if the session is still live; otherwise it returns
//     [ErrNotFound] and writes nothing, so a logout can never be undone by a
//     request that was in flight.
//   - Delete, DeleteBySID and DeleteBySubject are idempotent and return the
//     live sessions they ended; an empty sid matches nothing.
//   - RecordLogout remembers, for as long as a login may take, that an OP
//     session (or every session of a subject) was logged out, moving
//     forward on a later logout; LastLogout returns the latest one. A login
//     already under way when the logout arrived finds it after it created
//     its session and ends that session, so that a logout is never undone
//     by a login in flight ([Logout]).
//
// The [SingleUse] contract is the other thing replicas share: values that
// may be used once until they expire, each kind in its own [Namespace]
// (logout-token ids, login states, logout states). An implementation never
// refuses a value because many others were recorded: a bounded one forgets
// early, per namespace, so that values anyone can create (login states)
// never displace those only the OP can create (logout-token ids).
//
// A Store may also implement [SIDSubjectDeleter]: DeleteBySIDAndSubject ends
// the sessions of (issuer, sid) only if every live one belongs to the given
// subject, and otherwise ends nothing and returns [ErrSubjectMismatch], as
// one atomic step (each implementation documents the atomicity it gives).
// Back-channel logout uses it for tokens that carry both sid and sub. All
// stores in this repository implement it; storetest checks it when present.
//
// Backends, each of a Store and a SingleUse:
// [github.com/oidc-slo/slo/sessionstore/memstore] (in memory, the default),
// and the separate modules sessionstore/redisstore and sessionstore/pgstore
// for deployments with several replicas.
package sessionstore
