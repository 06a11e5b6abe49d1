package rp_test

import (
	"errors"
	"testing"

	"github.com/oidc-slo/slo/rp"
)

func TestRefresh(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)

	// With a new ID token for the same subject (no nonce check).
	cl := op.claims("")
	delete(cl, "nonce")
	op.setIDToken(op.sign(cl, signOpts{}))
	res, err := c.Refresh(t.Context(), "rt-0", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.Subject != "alice" || res.SID != "sid-1" || res.RawIDToken == "" || res.IDToken == nil || res.Token.AccessToken != "at-1" {
		t.Errorf("result = %+v", res)
	}
	if f := op.tokenForm[0]; f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "rt-0" {
		t.Errorf("refresh request = %v", f)
	}

	// Without an ID token: the caller keeps the old one.
	op.setIDToken("")
	res, err = c.Refresh(t.Context(), "rt-0", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.RawIDToken != "" || res.IDToken != nil || res.Subject != "alice" || res.Issuer != op.issuer {
		t.Errorf("result without ID token = %+v", res)
	}

	// A new ID token for another subject is refused (Core §12.2).
	cl["sub"] = "mallory"
	op.setIDToken(op.sign(cl, signOpts{}))
	if _, err := c.Refresh(t.Context(), "rt-0", "alice"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Errorf("changed sub: %v", err)
	}
	// And a new ID token that fails validation is refused.
	cl["sub"] = "alice"
	cl["iss"] = "https://other.example"
	op.setIDToken(op.sign(cl, signOpts{}))
	if _, err := c.Refresh(t.Context(), "rt-0", "alice"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Errorf("other issuer: %v", err)
	}

	if _, err := c.Refresh(t.Context(), "rt-0", ""); err == nil {
		t.Error("Refresh without subject succeeded")
	}
	if _, err := c.Refresh(t.Context(), "", "alice"); err == nil {
		t.Error("Refresh without refresh token succeeded")
	}
	op.mu.Lock()
	op.tokenErr = "invalid_grant"
	op.mu.Unlock()
	if _, err := c.Refresh(t.Context(), "rt-0", "alice"); err == nil {
		t.Error("Refresh with an OP error succeeded")
	}
}

func TestRevoke(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	if err := c.Revoke(t.Context(), "rt-1", "refresh_token"); err != nil {
		t.Fatal(err)
	}
	f := op.revokes[0]
	if f.Get("token") != "rt-1" || f.Get("token_type_hint") != "refresh_token" || f.Has("client_secret") {
		t.Errorf("revocation form = %v", f)
	}
	if id, secret, ok := op.revokeReq[0].BasicAuth(); !ok || id != testClientID || secret != testSecret {
		t.Errorf("basic auth = %q %q %v", id, secret, ok)
	}
	if err := c.Revoke(t.Context(), "bad", ""); err == nil {
		t.Error("OP error not reported")
	}

	pub := op.client(t, func(cfg *rp.Config) { cfg.ClientSecret = "" })
	if err := pub.Revoke(t.Context(), "at-1", ""); err != nil {
		t.Fatal(err)
	}
	if f := op.revokes[2]; f.Get("client_id") != testClientID || f.Has("token_type_hint") || f.Has("client_secret") {
		t.Errorf("public client revocation form = %v", f)
	}

	op.setMeta("revocation_endpoint", nil)
	c = op.client(t)
	if err := c.Revoke(t.Context(), "rt-1", ""); !errors.Is(err, rp.ErrNoRevocationEndpoint) {
		t.Errorf("no endpoint: %v", err)
	}
}
