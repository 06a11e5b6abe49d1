package rp

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// Refresh uses a refresh token (RFC 6749 §6). If the OP returns a new ID
// token it is verified like any other (without a nonce check) and its iss
// and sub must equal the issuer and subject of the session it refreshes
// (OpenID Connect Core 1.0 §12.2); subject is therefore required. The
// Result's RawIDToken and IDToken are empty when no ID token came back:
// keep the old one for id_token_hint. Token.RefreshToken is the new refresh
// token, or refreshToken if the OP did not rotate it.
func (c *Client) Refresh(ctx context.Context, refreshToken, subject string) (*Result, error) {
	if refreshToken == "" {
		return nil, errors.New("rp: refresh: no refresh token")
	}
	if subject == "" {
		return nil, errors.New("rp: refresh: subject is required")
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := p.oauth.TokenSource(c.httpContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, fmt.Errorf("rp: refresh: %w", err)
	}
	res := &Result{Issuer: c.cfg.Issuer, Subject: subject, Token: tok}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return res, nil
	}
	idt, cl, err := c.verifyIDToken(ctx, raw, "")
	if err != nil {
		return nil, err
	}
	if cl.Subject != subject {
		return nil, invalid("refreshed ID token is for another subject", nil)
	}
	res.SID = cl.SID
	res.RawIDToken = raw
	res.IDToken = idt
	return res, nil
}
