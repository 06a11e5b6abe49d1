package sessionstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"
)

// ErrNotFound is returned (possibly wrapped) when a session does not exist or
// has expired.
var ErrNotFound = errors.New("sessionstore: session not found")

// ErrExists is returned by Create when a session with the same id exists.
var ErrExists = errors.New("sessionstore: session already exists")

// Session is one server-side login session.
type Session struct {
	// ID identifies the session. It is the hash of the token held in the
	// browser's cookie, never the raw cookie value.
	ID string
	// Issuer is the OP's issuer identifier ("iss").
	Issuer string
	// Subject is the end-user's identifier at the issuer ("sub").
	Subject string
	// SID is the OP's session id ("sid" claim); empty if the OP sent none.
	SID string
	// CreatedAt is when the session was created.
	CreatedAt time.Time
	// ExpiresAt is when the session stops being live. Stores never return a
	// session at or after this time and may reclaim it.
	ExpiresAt time.Time
	// Data is what the relying party keeps with the session.
	Data Data
}

// Data is the relying-party state kept with a session. Stores treat it as
// opaque and persist it whole.
type Data struct {
	// IDToken is the raw compact ID token, kept for id_token_hint even after
	// it expires.
	IDToken string `json:"id_token,omitempty"`
	// AccessToken is the OAuth 2.0 access token, if any.
	AccessToken string `json:"access_token,omitempty"`
	// RefreshToken is the OAuth 2.0 refresh token, if any.
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenExpiry is when AccessToken expires; zero if unknown.
	TokenExpiry time.Time `json:"token_expiry,omitzero"`
	// SessionState is the OP's session_state (Session Management 1.0).
	SessionState string `json:"session_state,omitempty"`
	// Claims are the user's verified claims as one JSON object: those of
	// the ID token, and of the userinfo response when it was fetched. Read
	// them with Session.Claims or Session.Profile. It is in the form
	// encoding/json gives a json.RawMessage (compact, with <, > and &
	// escaped), which stores keep byte for byte.
	Claims json.RawMessage `json:"claims,omitempty"`
	// Values holds application values, for example claims the app wants
	// to keep. Stores copy the map; callers must not share it.
	Values map[string]string `json:"values,omitempty"`
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	c.Data.Values = maps.Clone(s.Data.Values)
	c.Data.Claims = bytes.Clone(s.Data.Claims)
	return &c
}

// ErrNoClaims is returned by Session.Claims for a session without claims.
var ErrNoClaims = errors.New("sessionstore: the session has no claims")

// Claims decodes the session's claims (Data.Claims) into v with
// encoding/json, for example into the application's own struct:
//
//	var c struct {
//		Groups []string `json:"groups"`
//	}
//	err := s.Claims(&c)
func (s *Session) Claims(v any) error {
	if s == nil || len(s.Data.Claims) == 0 {
		return ErrNoClaims
	}
	if err := json.Unmarshal(s.Data.Claims, v); err != nil {
		return fmt.Errorf("sessionstore: decoding claims: %w", err)
	}
	return nil
}

// Profile holds the standard claims that describe the user (OpenID Connect
// Core 1.0 §5.1) and how the user authenticated.
type Profile struct {
	Name              string `json:"name"`
	GivenName         string `json:"given_name"`
	FamilyName        string `json:"family_name"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	EmailVerified     bool   `json:"email_verified"`
	Picture           string `json:"picture"`
	Locale            string `json:"locale"`
	// AuthTime is when the user last authenticated at the OP (auth_time);
	// zero if the OP did not say.
	AuthTime time.Time `json:"-"`
	// ACR is the authentication context class the OP satisfied (acr).
	ACR string `json:"acr"`
	// AMR are the authentication methods used (amr).
	AMR []string `json:"amr"`
}

// Profile returns the standard claims of the session's claims; the zero
// Profile when there are none or they do not decode.
func (s *Session) Profile() Profile {
	var p struct {
		Profile
		AuthTime json.Number `json:"auth_time"`
	}
	if s.Claims(&p) != nil {
		return Profile{}
	}
	if f, err := p.AuthTime.Float64(); err == nil && f > 0 {
		p.Profile.AuthTime = time.Unix(int64(f), 0).UTC()
	}
	return p.Profile
}

// LogValue implements [slog.LogValuer]. It shows the session's identity and
// never its tokens.
func (s *Session) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("iss", s.Issuer),
		slog.String("sub", s.Subject),
		slog.String("sid", s.SID),
		slog.Time("expires_at", s.ExpiresAt),
	)
}

// Store keeps sessions and finds them by id, by (issuer, sid) and by
// (issuer, subject). Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the live session with the given id, or an error matching
	// ErrNotFound if it is missing or expired.
	Get(ctx context.Context, id string) (*Session, error)
	// Create inserts s. It returns an error matching ErrExists if the id is
	// taken; it never overwrites. Afterwards s is reachable by both indexes
	// for as long as Get can return it.
	Create(ctx context.Context, s *Session) error
	// Update replaces the stored session with the same id, only if it is
	// still live; otherwise it returns an error matching ErrNotFound and
	// writes nothing. Issuer, Subject and SID must not change.
	Update(ctx context.Context, s *Session) error
	// Delete removes the session with the given id and returns it if it
	// was live (nil if there was none: deleting a missing session
	// succeeds), so that the caller can act on what ended (revoke its
	// refresh token, say).
	Delete(ctx context.Context, id string) (*Session, error)
	// DeleteBySID removes every session of (issuer, sid) and returns the
	// live ones it removed. An empty sid matches nothing.
	DeleteBySID(ctx context.Context, issuer, sid string) ([]*Session, error)
	// DeleteBySubject removes every session of (issuer, subject) and
	// returns the live ones it removed. An empty subject matches nothing.
	DeleteBySubject(ctx context.Context, issuer, subject string) ([]*Session, error)

	// RecordLogout remembers, until l.ExpiresAt, that the OP ended the OP
	// session (l.Issuer, l.SID), or, when l.SID is empty, every session
	// of (l.Issuer, l.Subject). A later record of the same OP session or
	// subject moves it forward: each time becomes the later of the two.
	RecordLogout(ctx context.Context, l Logout) error
	// LastLogout returns the latest live logout recorded for the OP
	// session (issuer, sid) or for every session of (issuer, subject):
	// the later ReceivedAt and the later IssuedAt of the two records,
	// zero times where there is none. An empty sid or subject matches
	// no record.
	LastLogout(ctx context.Context, issuer, sid, subject string) (receivedAt, issuedAt time.Time, err error)
}

// Logout records that the OP ended an OP session, or every session of a
// subject. A login that was already under way when the logout arrived must
// not create a session afterwards, yet the logout found nothing to end: the
// record lets the login's callback see the logout (see [Store.LastLogout]).
// It is kept only as long as a login may take.
type Logout struct {
	// Issuer is the OP.
	Issuer string
	// SID is the OP session that ended; empty means every session of
	// Subject ended.
	SID string
	// Subject is the end-user; used only when SID is empty.
	Subject string
	// ReceivedAt is when the relying party received the logout, by its
	// own clock. Stores keep it to the millisecond at least; callers round
	// it up to a whole millisecond so that rounding never moves it back.
	ReceivedAt time.Time
	// IssuedAt is the logout token's iat, by the OP's clock; zero when the
	// logout carried none (front-channel logout).
	IssuedAt time.Time
	// ExpiresAt is when the record may be forgotten.
	ExpiresAt time.Time
}

// ErrSubjectMismatch is returned (possibly wrapped) by
// [SIDSubjectDeleter.DeleteBySIDAndSubject] when a live session of the sid
// belongs to another subject; nothing was deleted.
var ErrSubjectMismatch = errors.New("sessionstore: the sid's sessions belong to another subject")

// SIDSubjectDeleter is an optional interface of a [Store]: ending the
// sessions of an OP session only if they all belong to the expected
// subject. Back-channel logout uses it for a logout token that carries both
// sid and sub, so that a token whose sid belongs to another user ends
// nothing (instead of the other user's sessions). memstore, redisstore and
// pgstore implement it; callers fall back to DeleteBySID, without the
// check, for a Store that does not.
type SIDSubjectDeleter interface {
	// DeleteBySIDAndSubject removes every session of (issuer, sid) and
	// returns the live ones it removed, if all live sessions of (issuer,
	// sid) belong to subject. If any live session of (issuer, sid) has
	// another subject it removes nothing and returns an error matching
	// ErrSubjectMismatch. Expired sessions never cause a mismatch. The
	// check and the removal are one atomic step with respect to the
	// store's other methods, except where an implementation documents
	// otherwise. An empty sid matches nothing (nil, nil).
	DeleteBySIDAndSubject(ctx context.Context, issuer, sid, subject string) ([]*Session, error)
}
