package logout

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/oidc-slo/slo/internal/jwtclaims"
)

// Token is a verified back-channel logout token.
type Token struct {
	// Issuer is the OP that issued the token ("iss"); it is exactly the
	// Issuer of one of the verifier's providers.
	Issuer string
	// Subject is the end-user ("sub"); empty if the token names only a
	// session.
	Subject string
	// SID is the OP session id ("sid"); empty if the token names only a
	// subject, which means every session of (Issuer, Subject).
	SID string
	// JTI is the token's unique id ("jti").
	JTI string
	// Audience is the "aud" claim (a single string becomes one element).
	Audience []string
	// IssuedAt is "iat".
	IssuedAt time.Time
	// Expiry is "exp"; zero only when the verifier allows tokens without
	// exp ([VerifierConfig.AllowMissingExp]) and this one has none.
	Expiry time.Time

	payload []byte // the verified JWS payload (a JSON object)
}

// Claims decodes the token's verified payload into v with [json.Unmarshal],
// for claims that Token has no field for. encoding/json matches object keys
// case-insensitively and keeps the last of duplicate keys; the verifier
// refuses tokens where that would make a claim it checks read differently
// (see the package documentation), but not for other claims.
func (t *Token) Claims(v any) error {
	if t == nil || t.payload == nil {
		return fmt.Errorf("logout: token has no claims")
	}
	if err := json.Unmarshal(t.payload, v); err != nil {
		return fmt.Errorf("logout: decoding claims: %w", err)
	}
	return nil
}

// LogValue implements [slog.LogValuer]. It shows the token's identity, never
// the token or its payload.
func (t *Token) LogValue() slog.Value {
	if t == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("iss", t.Issuer),
		slog.String("sub", t.Subject),
		slog.String("sid", t.SID),
		slog.String("jti", t.JTI),
		slog.Time("iat", t.IssuedAt),
		slog.Time("exp", t.Expiry),
	)
}

// String describes the token without its payload, so that fmt verbs such as
// %v never print claims the application did not ask for.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("logout.Token{iss=%q sub=%q sid=%q jti=%q}", t.Issuer, t.Subject, t.SID, t.JTI)
}

// GoString is like String, for the %#v verb.
func (t *Token) GoString() string { return t.String() }

// backChannelEvent is the member of the "events" claim that marks a
// back-channel logout token.
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// parseClaims reads the claims the verifier checks from a JWT payload
// (see [jwtclaims.Parse]); every error is a *ValidationError.
func parseClaims(payload []byte) (jwtclaims.Claims, error) {
	c, err := jwtclaims.Parse(payload)
	if err != nil {
		return jwtclaims.Claims{}, invalidErr(ReasonMalformed, err)
	}
	return c, nil
}

// checkEvents reports whether raw is a JSON object whose back-channel logout
// member is present, once, and is itself a JSON object.
func checkEvents(raw []byte) error {
	if len(raw) == 0 || raw[0] != '{' {
		return invalid(ReasonEvents, "events is not an object")
	}
	val, found, err := jwtclaims.Member(raw, backChannelEvent)
	switch {
	case err != nil:
		return invalidErr(ReasonMalformed, err)
	case !found:
		return invalid(ReasonEvents, "no back-channel logout event")
	case val[0] != '{':
		return invalid(ReasonEvents, "back-channel logout event is not an object")
	}
	return nil
}
