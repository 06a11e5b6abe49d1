package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/oidc-slo/slo/rp"
)

// DefaultMaxClaimsBytes is the default Config.MaxClaimsBytes.
const DefaultMaxClaimsBytes = 4096

// essentialClaims are kept with the session whatever Config.Claims says:
// the middleware and Session.Profile read them.
var essentialClaims = []string{"sub", "auth_time", "acr", "amr"}

// profileClaims are what is kept of claims larger than Config.MaxClaimsBytes.
var profileClaims = []string{"name", "given_name", "family_name", "preferred_username",
	"email", "email_verified", "picture", "locale"}

// idTokenOnlyClaims are the claims about the token and the authentication,
// which the session takes from the ID token even when UserInfo has them
// too (Config.Userinfo).
var idTokenOnlyClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "nonce", "azp", "sid",
	"auth_time", "acr", "amr", "at_hash", "c_hash", "s_hash"}

// sessionClaims returns the claims to keep with the session of a login: the
// ID token's (with Config.Userinfo, merged with the UserInfo claims),
// filtered by Config.Claims and bounded by Config.MaxClaimsBytes, in the
// compact form sessionstore.Data.Claims has.
func (a *Auth) sessionClaims(ctx context.Context, res *rp.Result) (json.RawMessage, error) {
	if res.IDToken == nil {
		return nil, nil
	}
	var all map[string]json.RawMessage
	if err := res.IDToken.Claims(&all); err != nil {
		return nil, fmt.Errorf("middleware: reading the ID token's claims: %w", err)
	}
	if a.userinfo {
		if err := a.addUserinfo(ctx, res, all); err != nil {
			return nil, err
		}
	}
	kept := all
	if a.claims != nil {
		kept = make(map[string]json.RawMessage, len(a.claims)+len(essentialClaims))
		for k, v := range all {
			if slices.Contains(a.claims, k) || slices.Contains(essentialClaims, k) {
				kept[k] = v
			}
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("middleware: encoding claims: %w", err)
	}
	if len(b) <= a.maxClaims {
		return b, nil
	}
	small := make(map[string]json.RawMessage)
	for k, v := range kept {
		if slices.Contains(essentialClaims, k) || slices.Contains(profileClaims, k) {
			small[k] = v
		}
	}
	b, err = json.Marshal(small)
	if err != nil {
		return nil, fmt.Errorf("middleware: encoding claims: %w", err)
	}
	a.logger.WarnContext(ctx, "slo: the user's claims exceed Config.MaxClaimsBytes; keeping only the standard profile claims (set Config.Claims to choose, or raise the limit)",
		slog.Int("bytes", len(b)), slog.Int("max", a.maxClaims))
	if len(b) > a.maxClaims {
		// Even those are too large: keep what the middleware needs.
		b = nil
	}
	return b, nil
}

// addUserinfo fetches the UserInfo claims of a login and adds them to
// claims, the ID token's, which keeps those of idTokenOnlyClaims.
func (a *Auth) addUserinfo(ctx context.Context, res *rp.Result, claims map[string]json.RawMessage) error {
	if res.Token == nil || res.Token.AccessToken == "" {
		return errors.New("middleware: Config.Userinfo is set, but the OP issued no access token")
	}
	raw, err := a.client.Userinfo(ctx, res.Token.AccessToken, res.Subject)
	if err != nil {
		return fmt.Errorf("middleware: fetching the UserInfo claims: %w", err)
	}
	var ui map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ui); err != nil {
		return fmt.Errorf("middleware: reading the UserInfo claims: %w", err)
	}
	for k, v := range ui {
		if !slices.Contains(idTokenOnlyClaims, k) {
			claims[k] = v
		}
	}
	return nil
}
