package rptest

import "github.com/oidc-slo/slo/internal/testop"

// A TokenOption changes a logout token minted by [Server.LogoutToken],
// typically to break it for a negative test. Options apply in order.
type TokenOption struct {
	apply func(*tokenSettings)
}

type tokenSettings struct {
	claims  map[string]any
	header  []testop.SignOption
	foreign bool
}

// WithClaim sets the claim name to value, or removes it when value is nil.
// Values are encoded as JSON; times are seconds since the epoch. Tests of
// an application's checks, for example:
//
//	WithClaim("exp", nil)                                   // no exp (pre-2023 tokens)
//	WithClaim("exp", time.Now().Add(-time.Hour).Unix())     // expired
//	WithClaim("aud", "another-app")                         // for someone else
//	WithClaim("iss", "http://127.0.0.1:1")                  // from another OP
//	WithClaim("nonce", "n")                                 // forbidden in logout tokens
//	WithClaim("events", map[string]any{})                   // not a logout event
//	WithClaim("sid", nil), WithClaim("sub", nil)            // names no one
func WithClaim(name string, value any) TokenOption {
	return TokenOption{func(s *tokenSettings) { s.claims[name] = value }}
}

// WithType sets the JOSE typ header, "logout+jwt" by default (or "JWT"
// with Options.LegacyLogoutTokens); "" removes it.
func WithType(typ string) TokenOption {
	return TokenOption{func(s *tokenSettings) {
		if typ == "" {
			s.header = append(s.header, testop.WithHeader("typ", nil))
			return
		}
		s.header = append(s.header, testop.WithHeader("typ", typ))
	}}
}

// WithForeignKey signs with an RSA key that the OP does not publish (the
// same one for every token of a Server), under a kid that is not in its
// JWKS: a token the application must refuse.
func WithForeignKey() TokenOption {
	return TokenOption{func(s *tokenSettings) { s.foreign = true }}
}

// LogoutToken returns a logout token for the client clientID as the OP
// sends it on the back channel (Back-Channel Logout 1.0 with errata 1, or
// without exp under Options.LegacyLogoutTokens): iss, aud, iat, exp, a
// fresh jti, the logout event, and sub and sid unless empty, signed as
// registered for the client (RS256 if it is not registered), changed by
// opts. Send it with SendLogoutToken. LogoutToken panics if a claim value
// cannot be encoded as JSON.
func (s *Server) LogoutToken(clientID, sub, sid string, opts ...TokenOption) string {
	st := tokenSettings{claims: s.op.LogoutClaims(clientID, sub, sid)}
	if s.legacy {
		delete(st.claims, "exp")
		st.header = append(st.header, testop.WithHeader("typ", "JWT"))
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&st)
		}
	}
	for k, v := range st.claims {
		if v == nil {
			delete(st.claims, k)
		}
	}
	sign := st.header
	if st.foreign {
		sign = append(sign, testop.WithKey(s.foreignKey()))
	}
	return s.op.SignLogoutToken(st.claims, sign...)
}

// foreignKey returns the Server's unpublished key, made on first use.
func (s *Server) foreignKey() any {
	s.foreignOnce.Do(func() { s.foreign = s.op.ForeignKey() })
	return s.foreign
}
