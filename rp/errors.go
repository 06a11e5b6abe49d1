package rp

import (
	"errors"
	"time"
)

// AuthError is an error response from the OP's authorization endpoint
// (OpenID Connect Core 1.0 §3.1.2.6, RFC 6749 §4.1.2.1). Callback returns it
// only after the state parameter has been checked, so a *AuthError is known
// to answer this browser's own authorization request.
type AuthError struct {
	// Code is the error parameter, for example "access_denied" or
	// "login_required".
	Code string
	// Description is the error_description parameter, if any. It is text
	// from the OP, relayed by the browser: show it with care.
	Description string
	// URI is the error_uri parameter, if any.
	URI string
	// SessionState is the session_state parameter (Session Management 1.0),
	// if any.
	SessionState string
}

// Error returns the OAuth error code.
func (e *AuthError) Error() string { return "rp: authorization error: " + e.Code }

// Errors that callers branch on. Returned errors wrap them, so test with
// errors.Is.
var (
	// ErrState means the state parameter of a callback was missing or did
	// not match the login state kept for this browser, or there was no login
	// state at all. Nothing else in such a response is trusted.
	ErrState = errors.New("rp: state missing or mismatched")
	// ErrIssuer means the iss parameter of an authorization response
	// (RFC 9207) was wrong, or missing although the OP advertises
	// authorization_response_iss_parameter_supported.
	ErrIssuer = errors.New("rp: authorization response iss mismatch")
	// ErrInvalidIDToken means an ID token failed validation (OpenID
	// Connect Core 1.0 §3.1.3.7); the wrapping error says why.
	ErrInvalidIDToken = errors.New("rp: invalid ID token")
	// ErrNoEndSessionEndpoint means the OP has no end_session_endpoint and
	// none was configured: RP-initiated logout can only be local.
	ErrNoEndSessionEndpoint = errors.New("rp: OP has no end_session_endpoint")
	// ErrNoRevocationEndpoint means the OP advertises no revocation_endpoint
	// (RFC 7009).
	ErrNoRevocationEndpoint = errors.New("rp: OP has no revocation_endpoint")
	// ErrNoUserinfoEndpoint means the OP advertises no userinfo_endpoint
	// (OpenID Connect Core 1.0 §5.3).
	ErrNoUserinfoEndpoint = errors.New("rp: OP has no userinfo_endpoint")
	// ErrInvalidUserinfo means a UserInfo response failed validation
	// (OpenID Connect Core 1.0 §5.3.2): its sub is not the login's, it is
	// not a JSON object, or, signed, its signature, iss or aud is wrong.
	// The wrapping error says why.
	ErrInvalidUserinfo = errors.New("rp: invalid UserInfo response")
	// ErrOPUnavailable means discovery has not succeeded yet
	// (Config.DeferDiscovery), so nothing that needs the OP can be done.
	// The error is an *UnavailableError, which says when to retry.
	ErrOPUnavailable = errors.New("rp: OP unavailable")
)

// UnavailableError is returned, before discovery has succeeded
// (Config.DeferDiscovery), by every call that needs the OP. It matches
// ErrOPUnavailable and wraps the cause of the last failed attempt. An HTTP
// handler answers 503 Service Unavailable with a Retry-After of
// RetryAfter, rounded up to whole seconds.
type UnavailableError struct {
	// RetryAfter is how long until the next discovery attempt is allowed;
	// zero if the next call needing the OP (or Ready) may make one now.
	RetryAfter time.Duration
	// Err is why the last discovery attempt failed.
	Err error
}

// Error describes the last failure.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return ErrOPUnavailable.Error()
	}
	return ErrOPUnavailable.Error() + ": " + e.Err.Error()
}

// Unwrap returns ErrOPUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrOPUnavailable}
	}
	return []error{ErrOPUnavailable, e.Err}
}
