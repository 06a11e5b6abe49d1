package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"golang.org/x/oauth2"
)

type ctxKey struct{}

// SessionFromContext returns the session that LoadSession or RequireLogin
// put in ctx. The second result is false when the request has no live
// session. The session is a copy: changing it changes nothing stored.
func SessionFromContext(ctx context.Context) (*sessionstore.Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*sessionstore.Session)
	return s, ok && s != nil
}

// LoadSession returns a handler that looks up the request's session and, if
// there is one, makes it available through SessionFromContext before
// calling next. Requests without a live session reach next unchanged. A
// store failure is logged and the request continues as not logged in.
func (a *Auth) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.session(w, r)
		if err != nil {
			a.logger.ErrorContext(r.Context(), "slo: loading session failed; continuing as not logged in", slog.Any("error", err))
		}
		if s != nil {
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
		}
		next.ServeHTTP(w, r)
	})
}

// RequireLogin returns a handler that calls next only for requests with a
// live session (available through SessionFromContext). A top-level
// navigation without one (see Config.Navigation) is redirected to the login
// path with the current path as return_to; any other request (a fetch, an
// API client) gets 401 with a small JSON body and no redirect, as the OP's
// login page is of no use to it. A store failure fails closed: next is not
// called and the error is reported through the ErrorHandler (503).
func (a *Auth) RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.session(w, r)
		if err != nil {
			a.logger.ErrorContext(r.Context(), "slo: loading session failed; refusing the request", slog.Any("error", err))
			a.fail(w, r, err)
			return
		}
		if s == nil {
			a.toLogin(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
}

// unauthorizedBody is the body of a 401 from RequireLogin.
const unauthorizedBody = `{"error":"login_required","error_description":"sign in first"}` + "\n"

// toLogin sends a navigation to the login path, with the request's path as
// return_to, and answers anything else 401.
func (a *Auth) toLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !a.navigation(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, unauthorizedBody)
		return
	}
	target := a.paths.login
	if rt, err := ValidReturnTo(a.externalURI(r)); err == nil && rt != a.paths.landing {
		target += "?return_to=" + url.QueryEscape(rt)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// externalURI is the request's path and query as the browser sent them:
// with the BaseURL prefix put back when the handlers see it stripped.
func (a *Auth) externalURI(r *http.Request) string {
	if a.stripped {
		return a.prefix + r.URL.RequestURI()
	}
	return r.URL.RequestURI()
}

// IsNavigation reports whether r is a top-level navigation of a browser:
// a GET or HEAD whose Sec-Fetch-Mode is "navigate", or, from a browser that
// sends no Fetch Metadata, whose Accept header asks for text/html.
// Requests of scripts (fetch, XMLHttpRequest) and API clients are not.
func IsNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// session returns the live session of the request's cookie, or nil. It
// slides the idle timeout and refreshes expired access tokens, never
// bringing back a session that was logged out meanwhile. An error means the
// store failed; the session is then nil.
func (a *Auth) session(w http.ResponseWriter, r *http.Request) (*sessionstore.Session, error) {
	token, ok := a.sessionToken(r)
	if !ok {
		return nil, nil
	}
	ctx := r.Context()
	s, err := a.store.Get(ctx, SessionID(token))
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		a.clearCookie(w, a.cookieName)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	now := a.now()
	if a.idle > 0 {
		if s, err = a.slide(ctx, s, now); s == nil || err != nil {
			if s == nil && err == nil {
				a.clearCookie(w, a.cookieName)
			}
			return nil, err
		}
	}
	if a.needsRefresh(s, now) {
		n, err := a.refresh(ctx, s)
		switch {
		case n == nil && err == nil:
			// Ended: logged out meanwhile, or the OP refused the
			// refresh token.
			a.clearCookie(w, a.cookieName)
			return nil, nil
		case errors.Is(err, ErrStore):
			return nil, err
		case err == nil:
			s = n
		}
		// Another failure keeps the session with its old tokens; the
		// refresh is retried after a back-off.
	}
	return s, nil
}

// slide moves the idle deadline forward. It writes only when a tenth of the
// idle timeout has passed since the last write, so busy sessions do not
// write on every request.
func (a *Auth) slide(ctx context.Context, s *sessionstore.Session, now time.Time) (*sessionstore.Session, error) {
	limit := s.CreatedAt.Add(a.absolute)
	next := now.Add(a.idle)
	if next.After(limit) {
		next = limit
	}
	if next.Sub(s.ExpiresAt) < a.idle/10 {
		return s, nil
	}
	s.ExpiresAt = next
	switch err := a.store.Update(ctx, s); {
	case errors.Is(err, sessionstore.ErrNotFound):
		return nil, nil // logged out meanwhile: stays logged out
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return s, nil
}

// count is how many sessions Store.Delete's answer names: 0 or 1.
func count(s *sessionstore.Session) int {
	if s == nil {
		return 0
	}
	return 1
}

// setTokens copies the OAuth 2.0 tokens of a token response into d. The
// access token's expiry is reckoned from expires_in on the middleware's
// clock (now), like every other time of the session. A response without a
// refresh token keeps the one d has (RFC 6749 §6).
func setTokens(d *sessionstore.Data, t *oauth2.Token, now time.Time) {
	if t == nil {
		return
	}
	d.AccessToken = t.AccessToken
	d.TokenExpiry = t.Expiry
	if t.ExpiresIn > 0 {
		d.TokenExpiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	if t.RefreshToken != "" {
		d.RefreshToken = t.RefreshToken
	}
}
