package rp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Revoke asks the OP to revoke a token (RFC 7009), authenticating as
// Config.AuthMethod says. tokenTypeHint is "refresh_token", "access_token"
// or empty. It returns ErrNoRevocationEndpoint if the OP advertises no
// revocation_endpoint. Revoking an unknown or already revoked token is
// success (RFC 7009 §2.2).
func (c *Client) Revoke(ctx context.Context, token, tokenTypeHint string) error {
	p, err := c.provider(ctx)
	if err != nil {
		return err
	}
	if p.meta.RevocationEndpoint == "" {
		return ErrNoRevocationEndpoint
	}
	form := url.Values{"token": {token}}
	if tokenTypeHint != "" {
		form.Set("token_type_hint", tokenTypeHint)
	}
	switch c.cfg.AuthMethod {
	case AuthMethodPost:
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	case AuthMethodNone:
		form.Set("client_id", c.cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.meta.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("rp: revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.cfg.AuthMethod == AuthMethodBasic {
		// RFC 6749 §2.3.1: form-encode the id and secret before Basic.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("rp: revoke: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rp: revoke: status %s: %s", resp.Status, oauthErrorCode(body))
	}
	return nil
}

// oauthErrorCode extracts the error code of an OAuth error response body
// for messages, without echoing arbitrary content.
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return "no error code"
	}
	return e.Error
}
