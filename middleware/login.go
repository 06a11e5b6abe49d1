package middleware

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// loginRecord is what a login keeps in its sealed cookie between the
// authorization request and the callback.
type loginRecord struct {
	State    rp.LoginState `json:"s"`
	ReturnTo string        `json:"r"`
	StepUp   stepUp        `json:"u"`
}

// loginCookieName names the cookie of one login attempt. Each attempt gets
// its own, so logins started in two tabs do not overwrite each other.
func (a *Auth) loginCookieName(state string) string {
	return a.cookieName + "_login_" + statePrefix(state)
}

// statePrefix is the part of a state that names its cookie.
func statePrefix(state string) string {
	if len(state) > 12 {
		return state[:12]
	}
	return state
}

// LoginHandler returns the handler for GET LoginPath: it starts a login at
// the OP (state, nonce and PKCE) and remembers where to return in a sealed,
// short-lived cookie. The optional return_to query parameter must be a
// same-origin relative path, otherwise the answer is 400.
func (a *Auth) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if err := a.client.Ready(r.Context()); err != nil {
			a.opUnavailable(w, r, err)
			return
		}
		if u := a.otherLoopbackHost(r); u != "" {
			// The login cookie set here would never reach the callback,
			// which is on RedirectURL's host: start on that host instead.
			a.logger.InfoContext(r.Context(), "slo: login started at another loopback host name than RedirectURL; moving to it",
				slog.String("host", r.Host), slog.String("origin", a.origin))
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
		q := r.URL.Query()
		returnTo, err := a.returnTo(q["return_to"])
		if err != nil {
			a.fail(w, r, err)
			return
		}
		opts, su, err := a.loginParams(q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if a.loginOptions != nil {
			opts = append(a.loginOptions(r), opts...)
		}
		if a.formPost {
			opts = append(opts, rp.Param("response_mode", "form_post"))
		}
		authURL, st, err := a.client.Login(opts...)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.dropOldLogins(w, r)
		name := a.loginCookieName(st.State)
		exp := a.now().Add(a.loginTTL)
		v, err := seal(a.sealer, name, loginRecord{State: *st, ReturnTo: returnTo, StepUp: su}, exp)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// A form_post callback is a cross-site POST, which carries only
		// SameSite=None cookies.
		sameSite := http.SameSiteLaxMode
		if a.formPost {
			sameSite = http.SameSiteNoneMode
		}
		a.setRecordCookie(w, name, v, sameSite)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, authURL, http.StatusFound)
	})
}

// otherLoopbackHost returns the URL of r on the configured origin when r
// came to another loopback host name than it (localhost and 127.0.0.1 are
// different sites to a browser, with different cookies), and "" otherwise.
// Only loopback names are compared: behind a proxy the Host header may
// rightly differ from the external host.
func (a *Auth) otherLoopbackHost(r *http.Request) string {
	u, err := url.Parse(a.origin)
	if err != nil || r.Host == "" || strings.EqualFold(r.Host, u.Host) {
		return ""
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !isLoopback(host) || !isLoopback(u.Hostname()) {
		return ""
	}
	return a.origin + a.externalURI(r)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// maxLogins is how many logins one browser may have under way at once,
// each with its own cookie (logins in several tabs); a new login drops the
// oldest beyond that, so that the login cookies of a browser stay under
// 8 KB together whatever it does: many proxies refuse larger Cookie
// headers.
const maxLogins = 3

// dropOldLogins expires the login cookies of r that a new login would take
// beyond maxLogins, oldest first, and any that no longer open.
func (a *Auth) dropOldLogins(w http.ResponseWriter, r *http.Request) {
	prefix := a.cookieName + "_login_"
	type login struct {
		name    string
		started time.Time
	}
	var live []login
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		rec, err := unseal[loginRecord](a.sealer, c.Name, c.Value, a.now())
		if err != nil {
			a.clearCookie(w, c.Name)
			continue
		}
		live = append(live, login{c.Name, rec.State.CreatedAt})
	}
	if len(live) < maxLogins {
		return
	}
	slices.SortFunc(live, func(x, y login) int { return x.started.Compare(y.started) })
	for _, l := range live[:len(live)-(maxLogins-1)] {
		a.clearCookie(w, l.name)
	}
}

// returnTo validates the return_to values of a request: at most one, and a
// same-origin relative path. None yields the landing path.
func (a *Auth) returnTo(vs []string) (string, error) {
	switch len(vs) {
	case 0:
		return a.paths.landing, nil
	case 1:
		if vs[0] == "" {
			return a.paths.landing, nil
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
// redirects to the return_to of the login. The callback of a session
// re-check (see SessionCheckHandler) comes here too, recognised by its own
// record; it keeps or ends the session it re-checks and never creates one.
func (a *Auth) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var params url.Values
		switch r.Method {
		case http.MethodGet:
			params = r.URL.Query()
		case http.MethodPost:
			// response_mode=form_post: the OP's page posts the response.
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				a.fail(w, r, &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("middleware: callback form: %w", err)})
				return
			}
			params = r.PostForm
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if err := a.client.Ready(r.Context()); err != nil {
			// Before the state is used: the browser may try again.
			a.opUnavailable(w, r, err)
			return
		}
		state := params.Get("state")
		if rec, ok, found := consume(a, w, r, a.loginCookieName(state), state, loginRecord.loginState); found {
			a.completeLogin(w, r, rec, ok, params)
			return
		}
		if rec, ok, found := consume(a, w, r, a.recheckCookieName(state), state, recheckRecord.loginState); found && ok {
			a.finishRecheck(w, r, rec.ReturnTo, a.recheck(w, r, rec, params))
			return
		}
		err := &stateError{cookieMissing: true}
		a.logger.WarnContext(r.Context(), "slo: login callback refused: "+err.reason(a.origin))
		a.fail(w, r, err)
	})
}

// stateError is a callback whose state does not lead to a login of this
// browser. It matches rp.ErrState.
type stateError struct {
	// cookieMissing: the browser brought no login cookie for the state.
	cookieMissing bool
}

func (e *stateError) Error() string { return "middleware: callback: " + rp.ErrState.Error() }
func (e *stateError) Unwrap() error { return rp.ErrState }

// reason says in plain words what went wrong, for logs and the error page.
func (e *stateError) reason(origin string) string {
	if e.cookieMissing {
		return "the browser brought no login cookie: cookies are blocked for this site, the login took longer than the login timeout, or it started at another address than " + origin + " (such as localhost instead of 127.0.0.1)"
	}
	return "the login's state was already used or has expired"
}

func (rec loginRecord) loginState() *rp.LoginState { return &rec.State }

// completeLogin finishes a login whose record was found (ok: and valid).
func (a *Auth) completeLogin(w http.ResponseWriter, r *http.Request, rec loginRecord, ok bool, params url.Values) {
	ctx := r.Context()
	if !ok {
		err := &stateError{}
		a.logger.WarnContext(ctx, "slo: login callback refused: "+err.reason(a.origin))
		a.fail(w, r, err)
		return
	}
	res, err := a.client.Callback(ctx, params, &rec.State)
	if err != nil {
		var ae *rp.AuthError
		if errors.As(err, &ae) {
			a.logger.WarnContext(ctx, "slo: the OP refused the login", slog.String("error", ae.Code),
				slog.String("error_description", clip(ae.Description, maxShownLen)))
		} else {
			a.logger.WarnContext(ctx, "slo: login callback failed", slog.Any("error", err))
		}
		a.fail(w, r, err)
		return
	}
	now := a.now()
	s := &sessionstore.Session{
		Issuer:    res.Issuer,
		Subject:   res.Subject,
		SID:       res.SID,
		CreatedAt: now,
		ExpiresAt: now.Add(a.absolute),
		Data: sessionstore.Data{
			IDToken:      res.RawIDToken,
			SessionState: res.SessionState,
		},
	}
	if a.idle > 0 && a.idle < a.absolute {
		s.ExpiresAt = now.Add(a.idle)
	}
	setTokens(&s.Data, res.Token, now)
	if s.Data.Claims, err = a.sessionClaims(ctx, res); err != nil {
		a.logger.WarnContext(ctx, "slo: login callback failed", slog.Any("error", err))
		a.fail(w, r, err)
		return
	}
	p := s.Profile()
	if err := rec.StepUp.check(p.AuthTime, p.ACR, now, a.client.Config().ClockSkew); err != nil {
		a.logger.WarnContext(ctx, "slo: login refused: "+err.Error(), slog.Any("session", s))
		a.fail(w, r, err)
		return
	}
	if a.onLogin != nil {
		iss, sub, sid := s.Issuer, s.Subject, s.SID
		err := a.onLogin(r, s, res)
		s.Issuer, s.Subject, s.SID = iss, sub, sid
		if err != nil {
			a.logger.WarnContext(ctx, "slo: the login hook refused the login", slog.Any("session", s), slog.Any("error", err))
			if !errors.Is(err, ErrForbidden) && StatusCode(err) != http.StatusForbidden {
				err = &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("middleware: the login hook failed: %w", err)}
			}
			a.fail(w, r, err)
			return
		}
	}
	if old, ok := a.sessionToken(r); ok {
		if _, err := a.store.Delete(ctx, SessionID(old)); err != nil {
			a.logger.ErrorContext(ctx, "slo: ending the previous session at login failed", slog.Any("error", err))
			a.fail(w, r, fmt.Errorf("%w: %w", ErrStore, err))
			return
		}
	}
	token, err := a.createSession(r, s)
	if err != nil {
		a.logger.ErrorContext(ctx, "slo: creating the session failed", slog.Any("error", err))
		a.fail(w, r, err)
		return
	}
	// A logout of this OP session or user may have come while the login
	// was on its way: then the new session must not live.
	if ended, err := a.endedDuring(ctx, s, rec.State.CreatedAt, res); ended || err != nil {
		if _, derr := a.store.Delete(ctx, s.ID); derr != nil {
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrStore, derr))
		}
		if err != nil {
			a.logger.ErrorContext(ctx, "slo: checking the new session against logouts failed", slog.Any("error", err))
			a.fail(w, r, err)
			return
		}
		a.logger.WarnContext(ctx, "slo: the OP ended this session while the login was under way", slog.Any("session", s))
		a.SignedOutPage(w, r)
		return
	}
	a.setSessionCookie(w, token, s.CreatedAt.Add(a.absolute))
	a.logger.InfoContext(ctx, "slo: logged in", slog.Any("session", s))
	http.Redirect(w, r, rec.ReturnTo, http.StatusSeeOther)
}

// endedDuring reports whether the OP ended the OP session or user of the
// new session s while its login was under way: the logout was received
// after the login started (both by the relying party's clock; a login that
// started in the same millisecond counts as under way, since the store
// keeps milliseconds), or its logout token was issued after the ID token
// (both by the OP's clock). The store keeps what logouts it received
// (sessionstore.Store.RecordLogout), and it is asked after s was created:
// a logout that came later ends s itself.
func (a *Auth) endedDuring(ctx context.Context, s *sessionstore.Session, started time.Time, res *rp.Result) (bool, error) {
	received, issued, err := a.store.LastLogout(ctx, s.Issuer, s.SID, s.Subject)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrStore, err)
	}
	if !received.IsZero() && !started.After(received) {
		return true, nil
	}
	return res.IDToken != nil && !issued.IsZero() && res.IDToken.IssuedAt.Before(issued), nil
}

// consume finds the sealed record in the cookie called name, clears the
// cookie, and checks that the record belongs to state and that state was
// not used before, marking it used. found reports that the cookie came;
// ok, that its record is valid and used for the first time.
func consume[T any](a *Auth, w http.ResponseWriter, r *http.Request, name, state string, loginState func(T) *rp.LoginState) (rec T, ok, found bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return rec, false, false
	}
	a.clearCookie(w, name)
	if state == "" {
		return rec, false, true
	}
	rec, err = unseal[T](a.sealer, name, c.Value, a.now())
	st := loginState(rec)
	if err != nil || subtle.ConstantTimeCompare([]byte(st.State), []byte(state)) != 1 {
		return rec, false, true
	}
	k := sessionstore.Key{Namespace: sessionstore.LoginStates, Issuer: a.client.Issuer(), ID: state}
	used, err := a.used.Use(r.Context(), k, st.CreatedAt.Add(a.loginTTL))
	if err != nil {
		a.logger.ErrorContext(r.Context(), "slo: single-use check failed; refusing the login state", slog.Any("error", err))
		return rec, false, true
	}
	return rec, !used, true
}

// createSession stores s under a fresh random id and returns the cookie
// token for it.
func (a *Auth) createSession(r *http.Request, s *sessionstore.Session) (string, error) {
	for range 3 {
		token := newToken()
		s.ID = SessionID(token)
		err := a.store.Create(r.Context(), s)
		if err == nil {
			return token, nil
		}
		if !errors.Is(err, sessionstore.ErrExists) {
			return "", fmt.Errorf("%w: %w", ErrStore, err)
		}
	}
	return "", fmt.Errorf("%w: could not find a free session id", ErrStore)
}
