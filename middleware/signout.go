package middleware

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// logoutRecord is what an RP-initiated logout keeps in its sealed cookie
// until the OP sends the browser back.
type logoutRecord struct {
	State    string `json:"s"`
	ReturnTo string `json:"r"`
}

func (m *Middleware) logoutCookieName() string { return m.cookieName + "_logout" }

// maxURLLen is the longest end-session URL sent as a redirect; longer
// requests (large ID tokens) go as an auto-submitted POST form instead.
const maxURLLen = 2000

// maxFormBytes bounds the sign-out form.
const maxFormBytes = 8 << 10

// SignOutHandler returns the handler for POST LogoutPath. It refuses
// cross-origin requests (403, through http.CrossOriginProtection) and
// other methods (405). It ends the local session first, then sends the
// browser to the OP's end_session_endpoint with id_token_hint, client_id,
// the configured post_logout_redirect_uri and a fresh single-use state. If
// the OP has no end-session endpoint, or the request had no session, the
// user lands on return_to (or the landing path) directly. The optional
// return_to form field must be a same-origin relative path (else 400).
func (m *Middleware) SignOutHandler() http.Handler {
	return m.csrf.Handler(http.HandlerFunc(m.signOut))
}

func (m *Middleware) signOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		m.fail(w, r, &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("middleware: sign-out form: %w", err)})
		return
	}
	returnTo, err := m.returnTo(r.PostForm["return_to"])
	if err != nil {
		m.logger.WarnContext(ctx, "slo: sign-out refused: bad return_to")
		m.fail(w, r, err)
		return
	}

	var s *sessionstore.Session
	ev := logout.Event{Channel: logout.ChannelRPInitiated, Issuer: m.client.Issuer()}
	if token, ok := m.sessionToken(r); ok {
		id := SessionID(token)
		s, err = m.store.Get(ctx, id)
		if err != nil && !errors.Is(err, sessionstore.ErrNotFound) {
			m.storeFailedAtLogout(w, r, ev, err)
			return
		}
		n, err := m.store.Delete(ctx, id)
		if err != nil {
			m.storeFailedAtLogout(w, r, ev, err)
			return
		}
		ev.Ended = n
		m.clearCookie(w, m.cookieName)
	}
	if s == nil {
		m.onLogout.Emit(ctx, ev)
		m.logger.InfoContext(ctx, "slo: sign-out without a session")
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	ev.Issuer, ev.SID, ev.Subject = s.Issuer, s.SID, s.Subject
	m.onLogout.Emit(ctx, ev)
	m.logger.InfoContext(ctx, "slo: signed out locally", slog.Any("session", s))

	p := rp.LogoutParams{IDTokenHint: m.idTokenHint(ctx, s.Data.IDToken)}
	if m.paths.loggedOut != "" {
		p.State = rand.Text()
	}
	endURL, err := m.client.EndSessionURL(p)
	switch {
	case errors.Is(err, rp.ErrNoEndSessionEndpoint):
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	case err != nil:
		m.logger.ErrorContext(ctx, "slo: building the end-session request failed", slog.Any("error", err))
		m.fail(w, r, err)
		return
	}
	if p.State != "" {
		name := m.logoutCookieName()
		v, err := seal(m.sealer, name, logoutRecord{State: p.State, ReturnTo: returnTo}, m.now().Add(m.loginTTL))
		if err != nil {
			m.fail(w, r, err)
			return
		}
		m.setRecordCookie(w, name, v, http.SameSiteLaxMode)
	}
	if len(endURL) > maxURLLen {
		if err := m.client.WriteEndSessionForm(w, p); err != nil {
			m.fail(w, r, err)
		}
		return
	}
	http.Redirect(w, r, endURL, http.StatusSeeOther)
}

func (m *Middleware) storeFailedAtLogout(w http.ResponseWriter, r *http.Request, ev logout.Event, err error) {
	err = fmt.Errorf("%w: %w", ErrStore, err)
	ev.Err = err
	m.onLogout.Emit(r.Context(), ev)
	m.logger.ErrorContext(r.Context(), "slo: sign-out failed: the session store failed", slog.Any("error", err))
	m.fail(w, r, err)
}

// LoggedOutHandler returns the handler for the post_logout_redirect_uri.
// With the state of this browser's logout it consumes the state and
// redirects to the logout's return_to. A missing, wrong or replayed state
// changes nothing and shows a neutral signed-out page (200), never an error
// loop. Every parameter except state is ignored. HEAD answers the page's
// headers and consumes nothing.
func (m *Middleware) LoggedOutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if r.Method == http.MethodHead {
			// A HEAD (a link prefetcher, a monitor) must not use up the
			// state of the browser's real return.
			m.SignedOutPage(w, r)
			return
		}
		states := r.URL.Query()["state"]
		name := m.logoutCookieName()
		v, hasCookie := cookieValue(r, name)
		if hasCookie {
			m.clearCookie(w, name)
		}
		if len(states) == 1 && hasCookie {
			rec, err := unseal[logoutRecord](m.sealer, name, v, m.now())
			if err == nil && subtle.ConstantTimeCompare([]byte(rec.State), []byte(states[0])) == 1 {
				seen, err := m.states.Seen(r.Context(), "slo-logout:"+m.client.Issuer(), rec.State, m.now().Add(m.loginTTL))
				if err == nil && !seen {
					http.Redirect(w, r, rec.ReturnTo, http.StatusSeeOther)
					return
				}
			}
		}
		m.logger.WarnContext(r.Context(), "slo: post-logout return without a valid state; showing the signed-out page")
		m.SignedOutPage(w, r)
	})
}

var signedOutTmpl = template.Must(template.New("signed-out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>You are signed out</h1><p><a href="{{.}}">Sign in again</a></p></body></html>
`))

// SignedOutPage writes the neutral signed-out page (200).
func (m *Middleware) SignedOutPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.Method == http.MethodHead {
		return
	}
	if err := signedOutTmpl.Execute(w, m.paths.login); err != nil {
		m.logger.ErrorContext(r.Context(), "slo: writing the signed-out page failed", slog.Any("error", err))
	}
}

// idTokenHint returns the ID token to send as id_token_hint: the stored one,
// decrypted to its signed form if it is encrypted (Session Management and
// RP-Initiated Logout ask for the signed token), or "" if that fails.
func (m *Middleware) idTokenHint(ctx context.Context, raw string) string {
	if raw == "" || !m.client.EncryptionRequired() || strings.Count(raw, ".") != 4 {
		return raw
	}
	jws, err := m.client.Decrypt(raw)
	if err != nil {
		m.logger.WarnContext(ctx, "slo: cannot decrypt the stored ID token; sending no id_token_hint", slog.Any("error", err))
		return ""
	}
	return jws
}
