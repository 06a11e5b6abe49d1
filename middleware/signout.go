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

func (a *Auth) logoutCookieName() string { return a.cookieName + "_logout" }

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
//
// A failing session store does not stop a sign-out: the cookie is cleared,
// the failure logged at Error and reported in the logout event, and the
// browser goes on to the OP (with id_token_hint if the session could still
// be read), which ends the user's OP session.
func (a *Auth) SignOutHandler() http.Handler {
	return a.csrf.Handler(http.HandlerFunc(a.signOut))
}

func (a *Auth) signOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("middleware: sign-out form: %w", err)})
		return
	}
	returnTo, err := a.returnTo(r.PostForm["return_to"])
	if err != nil {
		a.logger.WarnContext(ctx, "slo: sign-out refused: bad return_to")
		a.fail(w, r, err)
		return
	}

	var s *sessionstore.Session
	ev := logout.Event{Channel: logout.ChannelRPInitiated, Issuer: a.client.Issuer()}
	if token, ok := a.sessionToken(r); ok {
		// The cookie goes whatever the store says: someone who signs out
		// on a shared computer and walks away must be signed out here.
		a.clearCookie(w, a.cookieName)
		var err error
		if s, err = a.store.Delete(ctx, SessionID(token)); err != nil {
			// Still on to the OP, which ends the user's OP session.
			ev.Err = fmt.Errorf("%w: %w", ErrStore, err)
			a.logger.ErrorContext(ctx, "slo: sign-out: the session store failed; the cookie is cleared and the browser sent on to the OP", slog.Any("error", ev.Err))
		}
	}
	if s == nil && ev.Err == nil {
		a.onLogout.Emit(ctx, ev)
		a.logger.InfoContext(ctx, "slo: sign-out without a session")
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	var hint string
	if s != nil {
		ev.Ended = 1
		ev.Issuer, ev.SID, ev.Subject = s.Issuer, s.SID, s.Subject
		hint = a.idTokenHint(ctx, s.Data.IDToken)
		a.revokeRefreshToken(ctx, s)
	}
	a.onLogout.Emit(ctx, ev)
	if ev.Err == nil {
		a.logger.InfoContext(ctx, "slo: signed out locally", slog.Any("session", s))
	}

	if err := a.client.Ready(ctx); err != nil {
		// Signed out here; the OP cannot be told now.
		a.opUnavailable(w, r, err)
		return
	}
	p := rp.LogoutParams{IDTokenHint: hint}
	if a.paths.loggedOut != "" {
		p.State = rand.Text()
	}
	endURL, err := a.client.EndSessionURL(p)
	switch {
	case errors.Is(err, rp.ErrNoEndSessionEndpoint):
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	case err != nil:
		a.logger.ErrorContext(ctx, "slo: building the end-session request failed", slog.Any("error", err))
		a.fail(w, r, err)
		return
	}
	if p.State != "" {
		name := a.logoutCookieName()
		v, err := seal(a.sealer, name, logoutRecord{State: p.State, ReturnTo: returnTo}, a.now().Add(a.loginTTL))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.setRecordCookie(w, name, v, http.SameSiteLaxMode)
	}
	if a.endSessionPOST || len(endURL) > maxURLLen {
		if err := a.client.WriteEndSessionForm(w, p); err != nil {
			a.fail(w, r, err)
		}
		return
	}
	http.Redirect(w, r, endURL, http.StatusSeeOther)
}

// LoggedOutHandler returns the handler for the post_logout_redirect_uri.
// With the state of this browser's logout it consumes the state and
// redirects to the logout's return_to. A missing, wrong or replayed state
// changes nothing and shows a neutral signed-out page (200), never an error
// loop. Every parameter except state is ignored. HEAD answers the page's
// headers and consumes nothing.
func (a *Auth) LoggedOutHandler() http.Handler {
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
			a.SignedOutPage(w, r)
			return
		}
		states := r.URL.Query()["state"]
		name := a.logoutCookieName()
		c, err := r.Cookie(name)
		if err == nil {
			a.clearCookie(w, name)
		}
		if len(states) == 1 && err == nil {
			rec, err := unseal[logoutRecord](a.sealer, name, c.Value, a.now())
			if err == nil && subtle.ConstantTimeCompare([]byte(rec.State), []byte(states[0])) == 1 {
				k := sessionstore.Key{Namespace: sessionstore.LogoutStates, Issuer: a.client.Issuer(), ID: rec.State}
				used, err := a.used.Use(r.Context(), k, a.now().Add(a.loginTTL))
				if err == nil && !used {
					http.Redirect(w, r, rec.ReturnTo, http.StatusSeeOther)
					return
				}
			}
		}
		a.logger.WarnContext(r.Context(), "slo: post-logout return without a valid state; showing the signed-out page")
		a.SignedOutPage(w, r)
	})
}

var signedOutTmpl = template.Must(template.New("signed-out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>You are signed out</h1><p><a href="{{.}}">Sign in again</a></p></body></html>
`))

// SignedOutPage writes the neutral signed-out page (200).
func (a *Auth) SignedOutPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.Method == http.MethodHead {
		return
	}
	if err := signedOutTmpl.Execute(w, a.paths.login); err != nil {
		a.logger.ErrorContext(r.Context(), "slo: writing the signed-out page failed", slog.Any("error", err))
	}
}

// idTokenHint returns the ID token to send as id_token_hint: the stored one,
// decrypted to its signed form if it is encrypted (Session Management and
// RP-Initiated Logout ask for the signed token), or "" if that fails.
func (a *Auth) idTokenHint(ctx context.Context, raw string) string {
	if raw == "" || !a.client.EncryptionRequired() || strings.Count(raw, ".") != 4 {
		return raw
	}
	jws, err := a.client.Decrypt(raw)
	if err != nil {
		a.logger.WarnContext(ctx, "slo: cannot decrypt the stored ID token; sending no id_token_hint", slog.Any("error", err))
		return ""
	}
	return jws
}
