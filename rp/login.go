package rp

import (
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// AuthOption adds a parameter to one authorization request.
type AuthOption struct {
	key, value string
	scopes     []string
}

// reservedParams are the authorization request parameters Login sets
// itself; Param refuses them.
var reservedParams = []string{
	"state", "nonce", "code_challenge", "code_challenge_method",
	"client_id", "redirect_uri", "response_type", "scope",
}

// Param sets an extra authorization request parameter. Login fails if key
// is empty or is one of the parameters it sets itself (state, nonce,
// code_challenge, code_challenge_method, client_id, redirect_uri,
// response_type, scope); add scopes with Scopes.
func Param(key, value string) AuthOption { return AuthOption{key: key, value: value} }

// Scopes requests scopes in addition to Config.Scopes for one login.
func Scopes(scopes ...string) AuthOption { return AuthOption{scopes: slices.Clone(scopes)} }

// Prompt sets the prompt parameter, for example "none", "login" or
// "consent".
func Prompt(v string) AuthOption { return Param("prompt", v) }

// LoginHint sets the login_hint parameter.
func LoginHint(v string) AuthOption { return Param("login_hint", v) }

// ACRValues sets the acr_values parameter (space-separated).
func ACRValues(v string) AuthOption { return Param("acr_values", v) }

// IDTokenHint sets the id_token_hint parameter, as used with prompt=none.
func IDTokenHint(v string) AuthOption { return Param("id_token_hint", v) }

// LoginState is what the RP must keep, bound to the browser, between the
// authorization request and the callback. It holds secrets: keep it
// server-side or in a sealed cookie, and use it once.
type LoginState struct {
	// Issuer is the OP the request was sent to.
	Issuer string `json:"iss"`
	// State is the state parameter sent.
	State string `json:"state"`
	// Nonce is the nonce parameter sent; the ID token must carry it.
	Nonce string `json:"nonce"`
	// CodeVerifier is the PKCE code verifier (RFC 7636).
	CodeVerifier string `json:"cv"`
	// CreatedAt is when the request was made, by Config.Now.
	CreatedAt time.Time `json:"at"`
}

// Login starts an authorization code flow: it returns the OP authorization
// URL to redirect the browser to, and the LoginState the callback needs.
// The request always carries response_type=code, client_id, redirect_uri,
// scope, a fresh random state and nonce (crypto/rand.Text) and a PKCE S256
// code challenge.
//
// Login does no I/O. Before discovery has succeeded (Config.DeferDiscovery)
// it returns an *UnavailableError; call Ready first, which retries
// discovery.
func (c *Client) Login(opts ...AuthOption) (string, *LoginState, error) {
	p, err := c.current()
	if err != nil {
		return "", nil, err
	}
	scopes := slices.Clone(c.cfg.Scopes)
	var params []oauth2.AuthCodeOption
	for _, o := range opts {
		for _, s := range o.scopes {
			if !validScope(s) {
				return "", nil, fmt.Errorf("rp: invalid scope %q", s)
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
		if o.scopes != nil {
			continue
		}
		if o.key == "" {
			return "", nil, fmt.Errorf("rp: empty authorization parameter name")
		}
		if slices.Contains(reservedParams, o.key) {
			return "", nil, fmt.Errorf("rp: authorization parameter %q is set by Login", o.key)
		}
		params = append(params, oauth2.SetAuthURLParam(o.key, o.value))
	}
	st := &LoginState{
		Issuer:       c.cfg.Issuer,
		State:        rand.Text(),
		Nonce:        rand.Text(),
		CodeVerifier: oauth2.GenerateVerifier(),
		CreatedAt:    c.now(),
	}
	// A field-by-field copy: copying the whole oauth2.Config would read its
	// auth-style cache without synchronisation while an Exchange sets it.
	conf := oauth2.Config{
		ClientID:    p.oauth.ClientID,
		Endpoint:    p.oauth.Endpoint,
		RedirectURL: p.oauth.RedirectURL,
		Scopes:      scopes,
	}
	params = append(params,
		oauth2.SetAuthURLParam("nonce", st.Nonce),
		oauth2.S256ChallengeOption(st.CodeVerifier),
	)
	return conf.AuthCodeURL(st.State, params...), st, nil
}

// validScope reports whether s is one non-empty RFC 6749 scope token.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}
