package middleware

import (
	"fmt"
	"net/http"

	"github.com/oidc-slo/slo/logout"
)

// newLogoutHandlers builds the back- and front-channel handlers for the
// middleware's client and store. The handlers live in package logout; the
// middleware hands them what only it knows: how to recognise its session
// cookie and how to clear it.
func (m *Middleware) newLogoutHandlers(cfg Config) error {
	typ := logout.TypLenient
	if cfg.StrictLogoutTokenTyp {
		typ = logout.TypStrict
	}
	v, err := logout.NewVerifier(logout.VerifierConfig{
		Providers:       []logout.Provider{logout.ProviderFromClient(m.client)},
		AllowMissingExp: cfg.AllowLogoutTokensWithoutExp,
		Typ:             typ,
		ClockSkew:       m.client.Config().ClockSkew,
		MaxAge:          cfg.LogoutTokenMaxAge,
		Now:             m.now,
	})
	if err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	m.backChannel, err = logout.NewBackChannelHandler(logout.BackChannelConfig{
		Verifier:    v,
		Store:       m.endingStore(),
		ReplayCache: m.replay,
		OnLogout:    m.onLogout,
		Logger:      m.logger,
	})
	if err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	m.frontChannel, err = logout.NewFrontChannelHandler(logout.FrontChannelConfig{
		Issuers: []string{m.client.Issuer()},
		// Not the endingStore: anyone can send front-channel requests with
		// made-up sids, and each would leave a marker in the store.
		Store:           m.store,
		SessionRequired: !cfg.FrontChannelCookieLogout,
		FrameAncestors:  cfg.FrontChannelFrameAncestors,
		CookieSession: func(r *http.Request) (string, bool) {
			token, ok := m.sessionToken(r)
			if !ok {
				return "", false
			}
			return SessionID(token), true
		},
		ClearCookie: func(w http.ResponseWriter) { m.clearCookie(w, m.cookieName) },
		OnLogout:    m.onLogout,
		Logger:      m.logger,
	})
	if err != nil {
		return fmt.Errorf("middleware: %w", err)
	}
	return nil
}

// BackChannelHandler returns the handler for the backchannel_logout_uri:
// it verifies the OP's logout token and ends the sessions it names (see
// logout.BackChannelHandler). It answers every method itself, so that even
// a 405 carries Cache-Control: no-store.
func (m *Middleware) BackChannelHandler() *logout.BackChannelHandler { return m.backChannel }

// FrontChannelHandler returns the handler for the frontchannel_logout_uri,
// which the OP loads in an iframe (see logout.FrontChannelHandler).
func (m *Middleware) FrontChannelHandler() *logout.FrontChannelHandler { return m.frontChannel }
