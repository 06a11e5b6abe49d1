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

// recheckRecord is what a re-check keeps in its sealed cookie between the
// prompt=none request and the callback: besides the login state, the id
// of the session it re-checks, so that the callback can recognise it even
// when the browser withholds the session cookie after the cross-site
// redirect from the OP.
type recheckRecord struct {
	State    rp.LoginState `json:"s"`
	ReturnTo string        `json:"r,omitempty"`
	Session  string        `json:"c"`
}

func (rec recheckRecord) loginState() *rp.LoginState { return &rec.State }

// recheckCookieName names the cookie of one re-check.
func (a *Auth) recheckCookieName(state string) string {
	return a.cookieName + "_recheck_" + statePrefix(state)
}

// RecheckHandler returns the handler for GET SessionCheckPath + "/recheck",
// which the session-check page loads after the OP reported "changed": it
// starts a prompt=none authorization request with the session's ID token as
// id_token_hint, whose callback keeps or ends the current session and never
// creates one (see SessionCheckHandler). The only parameter it accepts is
// return_to: it makes the re-check a top-level one, whose callback
// redirects there instead of answering the session-check page. Requests
// from other sites are refused (Sec-Fetch-Site), and it answers 404 when
// the OP advertises no check_session_iframe.
func (a *Auth) RecheckHandler() http.Handler {
	return http.HandlerFunc(a.startRecheck)
}

func (a *Auth) startRecheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	if err := a.client.Ready(ctx); err != nil {
		a.opUnavailable(w, r, err)
		return
	}
	if _, ok := a.checkSessionFrame(); !ok {
		http.NotFound(w, r)
		return
	}
	var returnTo string
	for k, vs := range r.URL.Query() {
		if k != "return_to" || len(vs) != 1 {
			a.fail(w, r, &Error{Status: http.StatusBadRequest, Err: errors.New("middleware: re-check: only return_to is allowed")})
			return
		}
		rt, err := ValidReturnTo(vs[0])
		if err != nil {
			a.fail(w, r, err)
			return
		}
		returnTo = rt
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		a.logger.WarnContext(ctx, "slo: session re-check refused: not started by this site's pages", slog.String("sec_fetch_site", site))
		a.fail(w, r, &Error{Status: http.StatusForbidden, Err: errors.New("middleware: re-check from another site")})
		return
	}
	s, err := a.session(w, r)
	if err != nil {
		a.logger.ErrorContext(ctx, "slo: session re-check: loading session failed", slog.Any("error", err))
		a.fail(w, r, err)
		return
	}
	if s == nil {
		a.finishRecheck(w, r, returnTo, recheckSignedOut)
		return
	}
	opts := []rp.AuthOption{rp.Prompt("none")}
	if hint := a.idTokenHint(ctx, s.Data.IDToken); hint != "" {
		opts = append(opts, rp.IDTokenHint(hint))
	}
	authURL, st, err := a.client.Login(opts...)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	name := a.recheckCookieName(st.State)
	v, err := seal(a.sealer, name, recheckRecord{State: *st, ReturnTo: returnTo, Session: s.ID}, a.now().Add(a.loginTTL))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The callback of an iframe re-check arrives after a redirect from the
	// OP. Chromium 156 still sends Lax cookies there when the OP is another
	// site (it sets Sec-Fetch-Site: cross-site but computes SameSite from
	// the frame's ancestors); browsers that also count the redirect chain
	// do not. SameSite=None avoids the question, but needs Secure: over
	// plain http (development, tests) Lax is all there is.
	sameSite := http.SameSiteLaxMode
	if a.secure {
		sameSite = http.SameSiteNoneMode
	}
	a.setRecordCookie(w, name, v, sameSite)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// recheck decides a re-check: the same user (issuer, subject and sid)
// keeps the session, with the new session_state and tokens; an error
// response from the OP (login_required, interaction_required,
// consent_required, …), an invalid response or ID token, or another user
// ends it. Failing to reach the OP or the store leaves the session alone
// ("error"). An error response to an iframe re-check that came back from
// another site is not trusted: the OP may not have seen its cookies there
// ("confirm").
func (a *Auth) recheck(w http.ResponseWriter, r *http.Request, rec recheckRecord, params url.Values) string {
	ctx := r.Context()
	if tok, ok := a.sessionToken(r); ok && SessionID(tok) != rec.Session {
		// The browser logged in again meanwhile: the page that asked is out
		// of date. Touch nothing; its reload shows the current session.
		a.logger.InfoContext(ctx, "slo: session re-check for a session this browser no longer uses")
		return recheckSignedOut
	}
	s, err := a.store.Get(ctx, rec.Session)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return recheckSignedOut
	case err != nil:
		a.logger.ErrorContext(ctx, "slo: session re-check: loading session failed", slog.Any("error", err))
		return recheckError
	}
	res, err := a.client.Callback(ctx, params, &rec.State)
	var ae *rp.AuthError
	switch {
	case errors.As(err, &ae) && rec.ReturnTo == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site":
		a.logger.InfoContext(ctx, "slo: session re-check: the OP refused prompt=none in a cross-site iframe; asking for a top-level re-check",
			slog.String("error", ae.Code), slog.Any("session", s))
		return recheckConfirm
	case errors.As(err, &ae):
		a.logger.InfoContext(ctx, "slo: session re-check: the OP answered with an error; ending the session",
			slog.String("error", ae.Code), slog.Any("session", s))
		return a.endRechecked(w, r, s)
	case errors.Is(err, rp.ErrInvalidIDToken), errors.Is(err, rp.ErrIssuer), errors.Is(err, rp.ErrState):
		a.logger.WarnContext(ctx, "slo: session re-check: invalid answer from the OP; ending the session", slog.Any("error", err))
		return a.endRechecked(w, r, s)
	case err != nil:
		a.logger.WarnContext(ctx, "slo: session re-check failed; keeping the session", slog.Any("error", err))
		return recheckError
	}
	if res.Issuer != s.Issuer || res.Subject != s.Subject || res.SID != s.SID {
		// Another user, or a new OP session of the same user: the session
		// this one belonged to has ended at the OP. (A new sid cannot be
		// written to the session: the store indexes it.)
		a.logger.InfoContext(ctx, "slo: session re-check found another user or OP session; ending the session", slog.Any("session", s))
		return a.endRechecked(w, r, s)
	}
	n := s.Clone()
	n.Data.SessionState = res.SessionState
	n.Data.IDToken = res.RawIDToken
	setTokens(&n.Data, res.Token, a.now())
	if c, err := a.sessionClaims(ctx, res); err == nil && c != nil {
		n.Data.Claims = c
	}
	switch err := a.store.Update(ctx, n); {
	case errors.Is(err, sessionstore.ErrNotFound):
		return recheckSignedOut // logged out meanwhile: stays logged out
	case err != nil:
		a.logger.ErrorContext(ctx, "slo: session re-check: updating the session failed", slog.Any("error", err))
		return recheckError
	}
	a.logger.InfoContext(ctx, "slo: session re-check: same user; session state updated", slog.Any("session", n))
	if validSessionState(n.Data.SessionState) {
		return recheckRefreshed + " " + n.Data.SessionState
	}
	return recheckRefreshed
}

// endRechecked ends session s after a re-check and emits its logout event.
func (a *Auth) endRechecked(w http.ResponseWriter, r *http.Request, s *sessionstore.Session) string {
	ctx := r.Context()
	ev := logout.Event{Channel: logout.ChannelSessionManagement, Issuer: s.Issuer, SID: s.SID, Subject: s.Subject}
	ended, err := a.store.Delete(ctx, s.ID)
	if err != nil {
		ev.Err = fmt.Errorf("%w: %w", ErrStore, err)
		a.onLogout.Emit(ctx, ev)
		a.logger.ErrorContext(ctx, "slo: session re-check: ending the session failed", slog.Any("error", ev.Err))
		return recheckError
	}
	ev.Ended = count(ended)
	a.onLogout.Emit(ctx, ev)
	if tok, ok := a.sessionToken(r); ok && SessionID(tok) == s.ID {
		a.clearCookie(w, a.cookieName)
	}
	a.logger.InfoContext(ctx, "slo: logged out by session check", slog.Any("session", s))
	return recheckSignedOut
}

// finishRecheck redirects a top-level re-check (returnTo set) and otherwise
// writes the small page that posts the result to its parent, the
// session-check page, with the RP's origin as targetOrigin.
func (a *Auth) finishRecheck(w http.ResponseWriter, r *http.Request, returnTo, result string) {
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
	}{result, a.origin, recheckScript.text})
	if err != nil {
		a.logger.ErrorContext(r.Context(), "slo: writing the re-check answer failed", slog.Any("error", err))
	}
}
