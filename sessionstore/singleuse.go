package sessionstore

import (
	"context"
	"time"
)

// Namespace separates the kinds of single-use values a [SingleUse] keeps,
// so that one kind can neither collide with another nor take its room.
type Namespace string

// The namespaces slo uses.
const (
	// LogoutTokens holds the jti of every accepted back-channel logout
	// token, scoped by issuer (Back-Channel Logout 1.0 §2.6 step 8).
	LogoutTokens Namespace = "logout-token"
	// LoginStates holds the state of every login that came back, so that
	// a callback is completed once.
	LoginStates Namespace = "login-state"
	// LogoutStates holds the state of every RP-initiated logout that came
	// back to the post-logout redirect URI.
	LogoutStates Namespace = "logout-state"
)

// Key names one single-use value.
type Key struct {
	// Namespace is the kind of value.
	Namespace Namespace
	// Issuer is the OP the value belongs to: jti values, for one, are
	// unique only per issuer.
	Issuer string
	// ID is the value itself, for example a jti or a state.
	ID string
}

// SingleUse remembers values that may be used only once, each until it
// expires: the jti of a logout token, the state of a login. Implementations
// must be safe for concurrent use, keep namespaces apart, and must never
// refuse a value because many others were recorded: a bounded
// implementation forgets early, starting with the values closest to
// expiry, and bounds each namespace on its own, so that values anyone can
// create (login states) never displace those only the OP can create
// (logout token ids).
//
// memstore, redisstore and pgstore implement it; storetest.RunSingleUse
// checks an implementation.
type SingleUse interface {
	// Use records k until expires and reports whether k was already
	// recorded and has not expired, that is, whether this is a repeated
	// use. Of concurrent calls with the same key exactly one reports
	// false. A key whose expiry has passed is not recorded and reports
	// false.
	Use(ctx context.Context, k Key, expires time.Time) (used bool, err error)
	// Forget removes k, so that its next use counts as the first.
	// Forgetting a key that is not recorded succeeds.
	Forget(ctx context.Context, k Key) error
}
