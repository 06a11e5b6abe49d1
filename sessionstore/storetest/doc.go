// Package storetest is a conformance suite for implementations of
// [sessionstore.Store] and [sessionstore.SingleUse], in the manner of
// testing/fstest: a store's own tests call [Run] (and [RunSingleUse] for its
// single-use store), which checks the whole contract in named subtests.
//
// A store with an injectable clock passes its clock in, so expiry is tested
// instantly and exactly at the boundary:
//
//	func TestConformance(t *testing.T) {
//		clk := newFakeClock()
//		storetest.Run(t, storetest.Config{
//			New: func(t *testing.T) sessionstore.Store {
//				return mystore.New(mystore.Config{Now: clk.Now})
//			},
//			Now:     clk.Now,
//			Advance: clk.Advance,
//		})
//	}
//
// A store backed by a server whose clock cannot be moved (Redis,
// PostgreSQL) leaves Now and Advance nil. Expiry is then tested with
// sessions that are already expired when created and with sessions that
// live half a second, whose end the suite awaits. New may hand every
// subtest the same server: each subtest uses random issuers and session
// ids, so concurrent or repeated runs against one server do not interfere.
// Keys written by the suite expire within a few hours or are deleted.
//
// What the suite requires beyond the [sessionstore.Store] documentation:
//
//   - Times (CreatedAt, ExpiresAt, Data.TokenExpiry) come back Equal to
//     what was stored when they are whole milliseconds: stores must keep at
//     least millisecond precision. Location and monotonic clock readings
//     need not survive.
//   - A nil and an empty Data.Values are the same; Data.Claims comes back
//     byte for byte.
//   - The deletes return the live sessions they ended, whole.
//   - Sessions are live while the store's clock is before ExpiresAt. Get,
//     Update and the index deletes treat a session at or after ExpiresAt
//     as absent, and the deletes do not count it. Its id is free again:
//     Create with that id succeeds.
//   - Create of an already expired session may succeed or fail, but the
//     session is never visible.
//   - IDs, sids and subjects are opaque byte strings compared exactly:
//     spaces, quotes, '%', '*', ':', '{', '}', non-ASCII text and issuers
//     that end in a separator must not confuse key or query building.
//   - Every method called with a cancelled context returns an error
//     matching [context.Canceled] and changes nothing.
//   - Update and the deletes may run concurrently (the suite should be
//     run with -race); a session ended by a delete is never brought back
//     by an Update, two racing Creates of one id succeed once, and every
//     session is counted by exactly one of the deletes that end it.
//
// The DeleteBySIDAndSubject subtests check the optional
// [sessionstore.SIDSubjectDeleter] (mismatch ends nothing and returns
// [sessionstore.ErrSubjectMismatch]; a match ends every session of the sid
// and no other; an empty sid matches nothing; expired sessions of another
// subject do not block). A store that does not implement it skips them,
// with the reason, rather than failing.
package storetest
