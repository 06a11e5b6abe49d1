package middleware

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// The prompt=none re-check of Session Management 1.0 §3.1: when the OP's
// iframe reports "changed", the RP iframe asks the OP again without user
// interaction, and the callback decides whether the session lives on.

// startRecheck handles GET LoginPath?prompt=none, sent by the session-check
// page after the OP reported "changed": it starts a prompt=none
// authorization request with the session's ID token as id_token_hint. The
// sealed login record names the session, so the callback can recognise the
// re-check even when the browser withholds the session cookie after the
// cross-site redirect from the OP. Besides prompt=none, only return_to is
// accepted: it makes the re-check a top-level one, whose callback redirects
// there instead of answering the session-check page. Requests from other
// sites are refused (Sec-Fetch-Site).
func (m *Middleware) startRecheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	var returnTo string
	for k, vs := range r.URL.Query() {
		switch {
		case k == "prompt" && len(vs) == 1 && vs[0] == "none":
		case k == "return_to" && len(vs) == 1:
			rt, err := ValidReturnTo(vs[0])
			if err != nil {
				m.fail(w, r, err)
				return
			}
			returnTo = rt
		default:
			m.fail(w, r, &Error{Status: http.StatusBadRequest, Err: errors.New("middleware: login: with prompt, only prompt=none and return_to are allowed")})
			return
		}
	}
	if _, ok := m.checkSessionFrame(); !ok {
		m.fail(w, r, &Error{Status: http.StatusBadRequest, Err: errors.New("middleware: login: prompt=none is for the session check, and the OP has no check_session_iframe")})
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		m.logger.WarnContext(ctx, "slo: session re-check refused: not started by this site's pages", slog.String("sec_fetch_site", site))
		m.fail(w, r, &Error{Status: http.StatusForbidden, Err: errors.New("middleware: login: prompt=none from another site")})
		return
	}
	s, err := m.session(w, r)
	if err != nil {
		m.logger.ErrorContext(ctx, "slo: session re-check: loading session failed", slog.Any("error", err))
		m.fail(w, r, err)
		return
	}
	if s == nil {
		m.finishRecheck(w, r, returnTo, recheckSignedOut)
		return
	}
	opts := []rp.AuthOption{rp.Prompt("none")}
	if hint := m.idTokenHint(ctx, s.Data.IDToken); hint != "" {
		opts = append(opts, rp.IDTokenHint(hint))
	}
	authURL, st, err := m.client.Login(opts...)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	name := m.loginCookieName(st.State)
	v, err := seal(m.sealer, name, loginRecord{State: *st, ReturnTo: returnTo, Recheck: s.ID}, m.now().Add(m.loginTTL))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	// The callback of an iframe re-check arrives after a redirect from the
	// OP. Chromium 156 still sends Lax cookies there when the OP is another
	// site (it sets Sec-Fetch-Site: cross-site but computes SameSite from
	// the frame's ancestors); browsers that also count the redirect chain
	// do not. SameSite=None avoids the question, but needs Secure: over
	// plain http (development, tests) Lax is all there is.
	sameSite := http.SameSiteLaxMode
	if m.secure {
		sameSite = http.SameSiteNoneMode
	}
	m.setRecordCookie(w, name, v, sameSite)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// recheckCallback completes a prompt=none re-check in the callback and
// answers the session-check page (iframe re-check) or redirects to the
// return_to of a top-level one.
func (m *Middleware) recheckCallback(w http.ResponseWriter, r *http.Request, rec loginRecord, params url.Values) {
	m.finishRecheck(w, r, rec.ReturnTo, m.recheck(w, r, rec, params))
}

// recheck decides a re-check: the same user (issuer, subject and sid)
// keeps the session, with the new session_state and tokens; an error
// response from the OP (login_required, interaction_required,
// consent_required, …), an invalid response or ID token, or another user
// ends it. Failing to reach the OP or the store leaves the session alone
// ("error"). An error response to an iframe re-check that came back from
// another site is not trusted: the OP may not have seen its cookies there
// ("confirm").
func (m *Middleware) recheck(w http.ResponseWriter, r *http.Request, rec loginRecord, params url.Values) string {
	ctx := r.Context()
	if tok, ok := m.sessionToken(r); ok && SessionID(tok) != rec.Recheck {
		// The browser logged in again meanwhile: the page that asked is out
		// of date. Touch nothing; its reload shows the current session.
		m.logger.InfoContext(ctx, "slo: session re-check for a session this browser no longer uses")
		return recheckSignedOut
	}
	s, err := m.store.Get(ctx, rec.Recheck)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return recheckSignedOut
	case err != nil:
		m.logger.ErrorContext(ctx, "slo: session re-check: loading session failed", slog.Any("error", err))
		return recheckError
	}
	res, err := m.client.Callback(ctx, params, &rec.State)
	var ae *rp.AuthError
	switch {
	case errors.As(err, &ae) && rec.ReturnTo == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site":
		m.logger.InfoContext(ctx, "slo: session re-check: the OP refused prompt=none in a cross-site iframe; asking for a top-level re-check",
			slog.String("error", ae.Code), slog.Any("session", s))
		return recheckConfirm
	case errors.As(err, &ae):
		m.logger.InfoContext(ctx, "slo: session re-check: the OP answered with an error; ending the session",
			slog.String("error", ae.Code), slog.Any("session", s))
		return m.endRechecked(w, r, s)
	case errors.Is(err, rp.ErrInvalidIDToken), errors.Is(err, rp.ErrIssuer), errors.Is(err, rp.ErrState):
		m.logger.WarnContext(ctx, "slo: session re-check: invalid answer from the OP; ending the session", slog.Any("error", err))
		return m.endRechecked(w, r, s)
	case err != nil:
		m.logger.WarnContext(ctx, "slo: session re-check failed; keeping the session", slog.Any("error", err))
		return recheckError
	}
	if res.Issuer != s.Issuer || res.Subject != s.Subject || res.SID != s.SID {
		// Another user, or a new OP session of the same user: the session
		// this one belonged to has ended at the OP. (A new sid cannot be
		// written to the session: the store indexes it.)
		m.logger.InfoContext(ctx, "slo: session re-check found another user or OP session; ending the session", slog.Any("session", s))
		return m.endRechecked(w, r, s)
	}
	n := s.Clone()
	n.Data.SessionState = res.SessionState
	n.Data.IDToken = res.RawIDToken
	setTokens(&n.Data, res.Token)
	switch err := m.store.Update(ctx, n); {
	case errors.Is(err, sessionstore.ErrNotFound):
		return recheckSignedOut // logged out meanwhile: stays logged out
	case err != nil:
		m.logger.ErrorContext(ctx, "slo: session re-check: updating the session failed", slog.Any("error", err))
		return recheckError
	}
	m.logger.InfoContext(ctx, "slo: session re-check: same user; session state updated", slog.Any("session", n))
	if validSessionState(n.Data.SessionState) {
		return recheckRefreshed + " " + n.Data.SessionState
	}
	return recheckRefreshed
}

// endRechecked ends session s after a re-check and emits its logout event.
func (m *Middleware) endRechecked(w http.ResponseWriter, r *http.Request, s *sessionstore.Session) string {
	ctx := r.Context()
	ev := logout.Event{Channel: logout.ChannelSessionManagement, Issuer: s.Issuer, SID: s.SID, Subject: s.Subject}
	n, err := m.store.Delete(ctx, s.ID)
	if err != nil {
		ev.Err = fmt.Errorf("%w: %w", ErrStore, err)
		m.onLogout.Emit(ctx, ev)
		m.logger.ErrorContext(ctx, "slo: session re-check: ending the session failed", slog.Any("error", ev.Err))
		return recheckError
	}
	ev.Ended = n
	m.onLogout.Emit(ctx, ev)
	if tok, ok := m.sessionToken(r); ok && SessionID(tok) == s.ID {
		m.clearCookie(w, m.cookieName)
	}
	m.logger.InfoContext(ctx, "slo: logged out by session check", slog.Any("session", s))
	return recheckSignedOut
}

// finishRecheck redirects a top-level re-check (returnTo set) and otherwise
// writes the small page that posts the result to its parent, the
// session-check page, with the RP's origin as targetOrigin.
func (m *Middleware) finishRecheck(w http.ResponseWriter, r *http.Request, returnTo, result string) {
	if returnTo != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+recheckScript.hash+
		"; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
	if r.Method == http.MethodHead {
		return
	}
	err := recheckTmpl.Execute(w, struct {
		Result, RPOrigin string
		Script           template.JS
	}{result, m.origin, recheckScript.text})
	if err != nil {
		m.logger.ErrorContext(r.Context(), "slo: writing the re-check answer failed", slog.Any("error", err))
	}
}
