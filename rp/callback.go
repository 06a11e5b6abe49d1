package rp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Result is the outcome of a successful login or refresh.
type Result struct {
	// Issuer is the OP's issuer identifier.
	Issuer string
	// Subject is the sub claim of the ID token, read exactly (see
	// [Client.VerifyIDToken]).
	Subject string
	// SID is the sid claim (OP session id), read exactly; empty if the OP
	// sent none.
	SID string
	// SessionState is the session_state parameter of the authorization
	// response (Session Management 1.0); empty after a refresh.
	SessionState string
	// RawIDToken is the compact ID token as received (still encrypted if it
	// was a JWE): keep it for id_token_hint. Empty after a refresh that
	// returned no new ID token.
	RawIDToken string
	// IDToken is the verified ID token; nil when RawIDToken is empty.
	IDToken *oidc.IDToken
	// Token holds the access and refresh tokens.
	Token *oauth2.Token
}

// Callback completes a login from the authorization response parameters
// (the redirect's query, or the form for response_mode=form_post) and the
// LoginState saved by Login. In order:
//
//  1. st must be non-nil and the state parameter must be present once and
//     equal st.State (constant-time), else an error wrapping ErrState.
//     Nothing else in the response is looked at before this check;
//  2. RFC 9207: an iss parameter must equal the issuer exactly, and must be
//     present if the OP advertises authorization_response_iss_parameter_supported,
//     else an error wrapping ErrIssuer (checked for error responses too);
//  3. an error parameter becomes a *AuthError;
//  4. the code is exchanged with the PKCE verifier, and the ID token is
//     verified as VerifyIDToken describes, with st.Nonce; an access token
//     is checked against at_hash when the ID token has one.
//
// The caller must discard st afterwards, whatever the outcome.
func (c *Client) Callback(ctx context.Context, params url.Values, st *LoginState) (*Result, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: no login in progress", ErrState)
	}
	states := params["state"]
	if len(states) != 1 || states[0] == "" || st.State == "" ||
		subtle.ConstantTimeCompare([]byte(states[0]), []byte(st.State)) != 1 {
		return nil, ErrState
	}
	if st.Nonce == "" || st.CodeVerifier == "" {
		return nil, fmt.Errorf("%w: incomplete login state", ErrState)
	}
	if st.Issuer != c.cfg.Issuer {
		return nil, fmt.Errorf("%w: login state is for issuer %q", ErrState, st.Issuer)
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	if iss, ok := params["iss"]; ok {
		if len(iss) != 1 || iss[0] != c.cfg.Issuer {
			return nil, fmt.Errorf("%w: got %q", ErrIssuer, iss)
		}
	} else if p.meta.AuthorizationResponseIssParameterSupported {
		return nil, fmt.Errorf("%w: iss parameter missing", ErrIssuer)
	}
	sessionState := params.Get("session_state")
	if code := params.Get("error"); code != "" || params.Has("error") {
		return nil, &AuthError{
			Code:         code,
			Description:  params.Get("error_description"),
			URI:          params.Get("error_uri"),
			SessionState: sessionState,
		}
	}
	codes := params["code"]
	if len(codes) != 1 || codes[0] == "" {
		return nil, errors.New("rp: authorization response has no code")
	}

	tok, err := p.oauth.Exchange(c.httpContext(ctx), codes[0], oauth2.VerifierOption(st.CodeVerifier))
	if err != nil {
		return nil, fmt.Errorf("rp: code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, invalid("token response has no id_token", nil)
	}
	idt, cl, err := c.verifyIDToken(ctx, raw, st.Nonce)
	if err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, invalid("at_hash", err)
		}
	}
	return &Result{
		Issuer:       idt.Issuer,
		Subject:      cl.Subject,
		SID:          cl.SID,
		SessionState: sessionState,
		RawIDToken:   raw,
		IDToken:      idt,
		Token:        tok,
	}, nil
}
