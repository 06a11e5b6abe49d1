package middleware

import (
	"context"
	"fmt"
	"net/http"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// newLogoutHandlers builds the back- and front-channel handlers from the
// nested logout configurations of cfg, filling in what the Auth owns: its
// client, store, single-use store, clock, logger and hook, and how to
// recognise and clear its session cookie, which only it knows.
func (a *Auth) newLogoutHandlers(cfg Config) error {
	vc := cfg.Verifier
	vc.Providers = []logout.Provider{logout.ProviderFromClient(a.client)}
	vc.Now = a.now
	if vc.ClockSkew == 0 {
		vc.ClockSkew = a.client.Config().ClockSkew
	}
	v, err := logout.NewVerifier(vc)
	if err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	bc := cfg.BackChannel
	// The sessions a logout token ends have their refresh tokens revoked
	// (in the background), before the application's own hook runs.
	appRevoke := bc.Revoke
	bc.Revoke = func(ctx context.Context, t *logout.Token, ended []*sessionstore.Session) error {
		for _, s := range ended {
			a.revokeRefreshToken(ctx, s)
		}
		if appRevoke != nil {
			return appRevoke(ctx, t, ended)
		}
		return nil
	}
	bc.Verifier = v
	bc.Store = a.store
	bc.SingleUse = a.used
	bc.LoginTimeout = a.loginTTL
	bc.OnLogout = a.onLogout
	bc.Logger = a.logger
	if a.backChannel, err = logout.NewBackChannelHandler(bc); err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	fc := cfg.FrontChannel
	fc.Issuers = []string{a.client.Issuer()}
	fc.Store = a.store
	fc.CookieSession = func(r *http.Request) (string, bool) {
		token, ok := a.sessionToken(r)
		if !ok {
			return "", false
		}
		return SessionID(token), true
	}
	fc.ClearCookie = func(w http.ResponseWriter) { a.clearCookie(w, a.cookieName) }
	fc.LoginTimeout = a.loginTTL
	fc.Now = a.now
	fc.OnLogout = a.onLogout
	fc.Logger = a.logger
	if a.frontChannel, err = logout.NewFrontChannelHandler(fc); err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	return nil
}

// Client returns the OpenID Connect client the Auth logs users in with.
func (a *Auth) Client() *rp.Client { return a.client }

// BackChannelHandler returns the handler for the backchannel_logout_uri:
// it verifies the OP's logout token and ends the sessions it names (see
// logout.BackChannelHandler). It answers every method itself, so that even
// a 405 carries Cache-Control: no-store.
func (a *Auth) BackChannelHandler() *logout.BackChannelHandler { return a.backChannel }

// FrontChannelHandler returns the handler for the frontchannel_logout_uri,
// which the OP loads in an iframe (see logout.FrontChannelHandler).
func (a *Auth) FrontChannelHandler() *logout.FrontChannelHandler { return a.frontChannel }
