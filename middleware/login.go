package middleware

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// loginRecord is what a login keeps in its sealed cookie between the
// authorization request and the callback.
type loginRecord struct {
	State    rp.LoginState `json:"s"`
	ReturnTo string        `json:"r"`
	// Recheck is set for a prompt=none re-check of the session check: the
	// id of the session being re-checked (see startRecheck).
	Recheck string `json:"c,omitempty"`
}

// loginCookieName names the cookie of one login attempt. Each attempt gets
// its own, so logins started in two tabs do not overwrite each other.
func (m *Middleware) loginCookieName(state string) string {
	if len(state) > 12 {
		state = state[:12]
	}
	return m.cookieName + "_login_" + state
}

// LoginHandler returns the handler for GET LoginPath: it starts a login at
// the OP (state, nonce and PKCE) and remembers where to return in a sealed,
// short-lived cookie. The optional return_to query parameter must be a
// same-origin relative path, otherwise the answer is 400.
//
// With the query prompt=none (and nothing else) it starts the re-check of
// the session check instead (see SessionCheckHandler): a prompt=none
// request with the session's ID token as id_token_hint, whose callback
// keeps or ends the current session and never creates one.
func (m *Middleware) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Query().Has("prompt") {
			m.startRecheck(w, r)
			return
		}
		returnTo, err := m.returnTo(r.URL.Query()["return_to"])
		if err != nil {
			m.fail(w, r, err)
			return
		}
		authURL, st, err := m.client.Login()
		if err != nil {
			m.fail(w, r, err)
			return
		}
		name := m.loginCookieName(st.State)
		exp := m.now().Add(m.loginTTL)
		v, err := seal(m.sealer, name, loginRecord{State: *st, ReturnTo: returnTo}, exp)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		m.setRecordCookie(w, name, v, http.SameSiteLaxMode)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, authURL, http.StatusFound)
	})
}

// returnTo validates the return_to values of a request: at most one, and a
// same-origin relative path. None yields the landing path.
func (m *Middleware) returnTo(vs []string) (string, error) {
	switch len(vs) {
	case 0:
		return m.paths.landing, nil
	case 1:
		if vs[0] == "" {
			return m.paths.landing, nil
		}
		return ValidReturnTo(vs[0])
	default:
		return "", ErrBadReturnTo
	}
}

// CallbackHandler returns the handler for the redirect URI. It checks and
// consumes the login state, exchanges the code, verifies the ID token and
// creates a session under a fresh random id (a session the browser had
// before is ended, so an id can never be fixed by an attacker). Then it
// redirects to the return_to of the login.
func (m *Middleware) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		params := r.URL.Query()
		state := params.Get("state")
		name := m.loginCookieName(state)
		rec, ok := m.consumeLogin(r, name, state)
		m.clearCookie(w, name)
		if !ok {
			m.logger.WarnContext(ctx, "slo: login callback with a missing, wrong or used state")
			m.fail(w, r, fmt.Errorf("middleware: callback: %w", rp.ErrState))
			return
		}
		if rec.Recheck != "" {
			m.recheckCallback(w, r, rec, params)
			return
		}
		res, err := m.client.Callback(ctx, params, &rec.State)
		if err != nil {
			var ae *rp.AuthError
			if errors.As(err, &ae) {
				m.logger.WarnContext(ctx, "slo: the OP refused the login", slog.String("error", ae.Code))
			} else {
				m.logger.WarnContext(ctx, "slo: login callback failed", slog.Any("error", err))
			}
			m.fail(w, r, err)
			return
		}
		now := m.now()
		s := &sessionstore.Session{
			Issuer:    res.Issuer,
			Subject:   res.Subject,
			SID:       res.SID,
			CreatedAt: now,
			ExpiresAt: now.Add(m.absolute),
			Data: sessionstore.Data{
				IDToken:      res.RawIDToken,
				SessionState: res.SessionState,
			},
		}
		if m.idle > 0 && m.idle < m.absolute {
			s.ExpiresAt = now.Add(m.idle)
		}
		setTokens(&s.Data, res.Token)
		if old, ok := m.sessionToken(r); ok {
			if _, err := m.store.Delete(ctx, SessionID(old)); err != nil {
				m.logger.ErrorContext(ctx, "slo: ending the previous session at login failed", slog.Any("error", err))
				m.fail(w, r, fmt.Errorf("%w: %w", ErrStore, err))
				return
			}
		}
		token, err := m.createSession(r, s)
		if err != nil {
			m.logger.ErrorContext(ctx, "slo: creating the session failed", slog.Any("error", err))
			m.fail(w, r, err)
			return
		}
		// A logout of this OP session may have come while the login was on
		// its way (see ended.go): then the new session must not live.
		var issued time.Time
		if res.IDToken != nil {
			issued = res.IDToken.IssuedAt
		}
		if gone, err := m.endedBefore(ctx, s.Issuer, s.SID, issued); gone || err != nil {
			if _, derr := m.store.Delete(ctx, s.ID); derr != nil {
				err = errors.Join(err, fmt.Errorf("%w: %w", ErrStore, derr))
			}
			if err != nil {
				m.logger.ErrorContext(ctx, "slo: checking the new session against logouts failed", slog.Any("error", err))
				m.fail(w, r, err)
				return
			}
			m.logger.WarnContext(ctx, "slo: the OP ended this session while the login was under way", slog.Any("session", s))
			m.SignedOutPage(w, r)
			return
		}
		m.setSessionCookie(w, token, s.CreatedAt.Add(m.absolute))
		m.logger.InfoContext(ctx, "slo: logged in", slog.Any("session", s))
		http.Redirect(w, r, rec.ReturnTo, http.StatusSeeOther)
	})
}

// consumeLogin opens the login record in the cookie called name, checks that
// it belongs to state, and marks the state used so it works only once.
func (m *Middleware) consumeLogin(r *http.Request, name, state string) (loginRecord, bool) {
	v, ok := cookieValue(r, name)
	if !ok || state == "" {
		return loginRecord{}, false
	}
	rec, err := unseal[loginRecord](m.sealer, name, v, m.now())
	if err != nil || subtle.ConstantTimeCompare([]byte(rec.State.State), []byte(state)) != 1 {
		return loginRecord{}, false
	}
	seen, err := m.states.Seen(r.Context(), "slo-login:"+m.client.Issuer(), state, rec.State.CreatedAt.Add(m.loginTTL))
	if err != nil {
		m.logger.ErrorContext(r.Context(), "slo: replay cache failed; refusing the login state", slog.Any("error", err))
		return loginRecord{}, false
	}
	return rec, !seen
}

// createSession stores s under a fresh random id and returns the cookie
// token for it.
func (m *Middleware) createSession(r *http.Request, s *sessionstore.Session) (string, error) {
	for range 3 {
		token := newToken()
		s.ID = SessionID(token)
		err := m.store.Create(r.Context(), s)
		if err == nil {
			return token, nil
		}
		if !errors.Is(err, sessionstore.ErrExists) {
			return "", fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	return "", fmt.Errorf("%w: could not find a free session id", ErrStore)
}
