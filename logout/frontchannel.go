package logout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// ErrFrontChannelRefused is the error (wrapped, in the [Event] and the log)
// of a front-channel request that was refused: a malformed query, only one of
// iss and sid, an untrusted iss, a missing iss and sid when they are
// required, or a method other than GET and HEAD. A refused request ends
// nothing.
var ErrFrontChannelRefused = errors.New("logout: front-channel request refused")

// FrontChannelConfig configures a [FrontChannelHandler].
type FrontChannelConfig struct {
	// Issuers are the issuer identifiers whose logout requests are accepted.
	// A request's iss must equal one of them byte for byte (a trailing slash
	// matters). Required.
	Issuers []string

	// Store holds the sessions. Required.
	Store sessionstore.Store

	// AllowSIDWithoutIss lets a request that carries sid but no iss name
	// that sid at the one trusted issuer, as Microsoft Entra ID sends its
	// front-channel logout requests (Front-Channel Logout 1.0 §2 says both
	// come together). It needs exactly one issuer in Issuers. Off by
	// default: such a request gets 400 and ends nothing.
	AllowSIDWithoutIss bool

	// AllowCookieLogout lets a request without iss and sid end the session
	// of the cookie that came with it, if one came, for OPs that cannot
	// send iss and sid (registered frontchannel_logout_session_required
	// false). Off by default: such a request ends nothing and gets 400,
	// the only defence against a hostile page that frames the URI without
	// parameters to log the user out (logout CSRF). Browsers rarely send
	// the cookie into the OP's cross-site iframe, so it seldom works.
	AllowCookieLogout bool

	// CookieSession recognises the relying party's session cookie on the
	// request and returns the session-store id it names. It is optional:
	// nil means no cookie is ever recognised. Sessions named by iss and sid
	// are found in the Store, never through the cookie, because the OP's
	// iframe is cross-site and browsers usually do not send the cookie there.
	CookieSession func(r *http.Request) (id string, ok bool)

	// ClearCookie expires the relying party's session cookie on w. It is
	// called when the cookie's session was ended by the request. Optional.
	ClearCookie func(w http.ResponseWriter)

	// FrameAncestors are the origins allowed to frame the logout page, as
	// the CSP frame-ancestors directive lists them ("https://op.example",
	// "https://*.example.com", or "'self'"). Empty means the origins of
	// Issuers. The OP's end-session page that frames this handler is
	// normally served from the issuer's origin; if your OP serves it from
	// another origin, or the OP's page is itself framed by another page (CSP
	// checks every ancestor), list those origins here: a non-empty list
	// replaces the default.
	FrameAncestors []string

	// KeepStorage leaves HTML5 storage alone. By default (false) the page
	// every accepted request gets carries a small inline script, allowed
	// by its CSP hash, that clears localStorage and sessionStorage of the
	// relying party's origin, as Front-Channel Logout 1.0 §2 asks. Browsers
	// that partition storage by top-level site give a cross-site iframe only
	// its partitioned storage, so this clears the app's own storage only
	// where the browser does not partition it. With KeepStorage the page is
	// script-free.
	KeepStorage bool

	// OnLogout receives one Event per request. Optional.
	OnLogout Hook

	// Logger receives the handler's logs; nil means slog.Default().
	// Refused requests are logged at Warn, store failures at Error,
	// accepted requests at Info.
	Logger *slog.Logger

	// LoginTimeout is how long the store remembers that an OP session was
	// logged out, so that a login already under way cannot create a
	// session after the logout ([sessionstore.Store.RecordLogout]). Set it
	// to the longest a login may take. Default 10 minutes.
	LoginTimeout time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// StoreTimeout bounds each store call (zero means 5 seconds). Store
	// calls are not cancelled when the browser leaves the page early: the OP
	// may navigate away from its logout page before every iframe finished
	// loading.
	StoreTimeout time.Duration
}

// FrontChannelHandler serves a relying party's frontchannel_logout_uri
// (OpenID Connect Front-Channel Logout 1.0): the OP's logout page loads it
// in an iframe, usually with iss and sid, and it ends the sessions of that OP
// session. The package documentation lists its answers.
type FrontChannelHandler struct {
	issuers       []string
	store         sessionstore.Store
	cookieLogout  bool
	loginTimeout  time.Duration
	now           func() time.Time
	cookieSession func(r *http.Request) (string, bool)
	clearCookie   func(w http.ResponseWriter)
	keepStorage   bool
	onLogout      Hook
	logger        *slog.Logger
	storeTimeout  time.Duration

	cspStatic string // CSP of the script-free pages
	cspScript string // CSP of the page that clears storage

	sidOnlyIssuer string // Config.AllowSIDWithoutIss: the one issuer
}

// frontChannelClearScript is the whole inline script of the logged-out page.
// It is allowed by its hash, never by 'unsafe-inline'. Storage access throws
// where the browser blocks third-party storage.
const frontChannelClearScript = `try{localStorage.clear()}catch(e){}try{sessionStorage.clear()}catch(e){}`

var frontChannelScriptHash = func() string {
	sum := sha256.Sum256([]byte(frontChannelClearScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// The pages. They are constants: nothing from the request ever reaches them.
const (
	frontChannelPageDone = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signed out</title></head>" +
		"<body><p>Signed out.</p></body></html>\n"
	frontChannelPageScript = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signed out</title>" +
		"<script>" + frontChannelClearScript + "</script></head><body><p>Signed out.</p></body></html>\n"
	frontChannelPageRefused = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Bad request</title></head>" +
		"<body><p>Bad logout request.</p></body></html>\n"
	frontChannelPageMethod = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Method not allowed</title></head>" +
		"<body><p>Method not allowed.</p></body></html>\n"
	frontChannelPageFailed = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Error</title></head>" +
		"<body><p>The logout could not be completed.</p></body></html>\n"
)

// NewFrontChannelHandler validates cfg and returns a handler for the
// relying party's frontchannel_logout_uri. It reports every problem in cfg
// at once.
func NewFrontChannelHandler(cfg FrontChannelConfig) (*FrontChannelHandler, error) {
	var errs []error
	if len(cfg.Issuers) == 0 {
		errs = append(errs, errors.New("logout: FrontChannelConfig.Issuers is empty"))
	}
	var origins []string
	for _, iss := range cfg.Issuers {
		o, err := frontChannelIssuerOrigin(iss)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("logout: FrontChannelConfig.Store is nil"))
	}
	if cfg.StoreTimeout < 0 {
		errs = append(errs, errors.New("logout: FrontChannelConfig.StoreTimeout is negative"))
	}
	if cfg.LoginTimeout < 0 {
		errs = append(errs, errors.New("logout: FrontChannelConfig.LoginTimeout is negative"))
	}
	if len(cfg.FrameAncestors) > 0 {
		origins = nil
		for _, a := range cfg.FrameAncestors {
			if err := frontChannelCheckAncestor(a); err != nil {
				errs = append(errs, err)
				continue
			}
			origins = append(origins, a)
		}
	}
	if cfg.AllowSIDWithoutIss && len(cfg.Issuers) != 1 {
		errs = append(errs, errors.New("logout: FrontChannelConfig.AllowSIDWithoutIss needs exactly one issuer"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	h := &FrontChannelHandler{
		issuers:       slices.Clone(cfg.Issuers),
		store:         cfg.Store,
		cookieLogout:  cfg.AllowCookieLogout,
		loginTimeout:  cfg.LoginTimeout,
		now:           cfg.Now,
		cookieSession: cfg.CookieSession,
		clearCookie:   cfg.ClearCookie,
		keepStorage:   cfg.KeepStorage,
		onLogout:      cfg.OnLogout,
		logger:        cfg.Logger,
		storeTimeout:  cfg.StoreTimeout,
	}
	if cfg.AllowSIDWithoutIss {
		h.sidOnlyIssuer = cfg.Issuers[0]
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if h.storeTimeout == 0 {
		h.storeTimeout = DefaultStoreTimeout
	}
	if h.loginTimeout == 0 {
		h.loginTimeout = DefaultLoginTimeout
	}
	if h.now == nil {
		h.now = time.Now
	}
	ancestors := "frame-ancestors " + strings.Join(origins, " ")
	base := "default-src 'none'; base-uri 'none'; form-action 'none'; " + ancestors
	h.cspStatic = base
	h.cspScript = base + "; script-src " + frontChannelScriptHash
	return h, nil
}

// frontChannelIssuerOrigin returns the origin of an issuer identifier.
func frontChannelIssuerOrigin(iss string) (string, error) {
	u, err := url.Parse(iss)
	if err != nil {
		return "", fmt.Errorf("logout: FrontChannelConfig.Issuers: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("logout: FrontChannelConfig.Issuers: %q is not an http(s) issuer URL without query or fragment", iss)
	}
	if strings.ContainsAny(u.Host, " \t\r\n;,'\"") {
		return "", fmt.Errorf("logout: FrontChannelConfig.Issuers: %q has an invalid host", iss)
	}
	return u.Scheme + "://" + u.Host, nil
}

// frontChannelCheckAncestor accepts 'self' and scheme://host[:port] sources
// (the host may start with "*."), and nothing that could inject into the
// CSP header.
func frontChannelCheckAncestor(a string) error {
	if a == "'self'" {
		return nil
	}
	if a == "" || strings.ContainsAny(a, " \t\r\n;,'\"") {
		return fmt.Errorf("logout: FrontChannelConfig.FrameAncestors: %q is not an origin", a)
	}
	u, err := url.Parse(a)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("logout: FrontChannelConfig.FrameAncestors: %q is not an origin (scheme://host[:port])", a)
	}
	return nil
}

// ServeHTTP handles one front-channel logout request, answering as the
// package documentation describes.
func (h *FrontChannelHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache, no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", h.cspStatic)

	ev := Event{Channel: ChannelFrontChannel}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		ev.Err = fmt.Errorf("%w: method %s", ErrFrontChannelRefused, frontChannelClip(r.Method))
		h.refuse(ctx, w, r, http.StatusMethodNotAllowed, frontChannelPageMethod, ev)
		return
	}

	iss, sid, named, err := frontChannelParams(r.URL.RawQuery, h.sidOnlyIssuer)
	if err != nil {
		ev.Issuer, ev.SID = frontChannelClip(iss), frontChannelClip(sid)
		ev.Err = err
		h.refuse(ctx, w, r, http.StatusBadRequest, frontChannelPageRefused, ev)
		return
	}
	// HEAD is safe (RFC 9110 §9.3.2): it is validated and answered like
	// GET, but it ends, records and emits nothing.
	head := r.Method == http.MethodHead
	if named {
		if !slices.Contains(h.issuers, iss) {
			ev.Issuer, ev.SID = frontChannelClip(iss), frontChannelClip(sid)
			ev.Err = fmt.Errorf("%w: untrusted iss", ErrFrontChannelRefused)
			h.refuse(ctx, w, r, http.StatusBadRequest, frontChannelPageRefused, ev)
			return
		}
		if head {
			h.writeDone(w, r)
			return
		}
		ev.Issuer, ev.SID = iss, sid
		h.endBySID(ctx, w, r, ev)
		return
	}
	if !h.cookieLogout {
		ev.Err = fmt.Errorf("%w: iss and sid are required", ErrFrontChannelRefused)
		h.refuse(ctx, w, r, http.StatusBadRequest, frontChannelPageRefused, ev)
		return
	}
	if d := r.Header.Get("Sec-Fetch-Dest"); d != "" && d != "iframe" && d != "frame" {
		// The OP loads this URL in an iframe. A top-level navigation, which
		// carries SameSite=Lax cookies even from another site, is a
		// drive-by logout through the cookie path: refuse it.
		ev.Err = fmt.Errorf("%w: a cookie-only logout must be framed (Sec-Fetch-Dest %q)", ErrFrontChannelRefused, d)
		h.refuse(ctx, w, r, http.StatusBadRequest, frontChannelPageRefused, ev)
		return
	}
	if head {
		h.writeDone(w, r)
		return
	}
	h.endCookieSession(ctx, w, r, ev)
}

// frontChannelParams reads iss and sid from a raw query string with
// url.ParseQuery semantics ('+' is a space, %2B a plus). named reports that
// both came; err (wrapping ErrFrontChannelRefused) that the query is
// malformed, a parameter is repeated or empty, or only one of them came.
//
// With sidOnlyIssuer set, a sid without iss names that issuer's sid.
func frontChannelParams(rawQuery, sidOnlyIssuer string) (iss, sid string, named bool, err error) {
	q, perr := url.ParseQuery(rawQuery)
	if perr != nil {
		return "", "", false, fmt.Errorf("%w: malformed query", ErrFrontChannelRefused)
	}
	issV, hasIss := q["iss"]
	sidV, hasSID := q["sid"]
	if len(issV) > 1 || len(sidV) > 1 {
		return "", "", false, fmt.Errorf("%w: repeated iss or sid", ErrFrontChannelRefused)
	}
	if hasIss {
		iss = issV[0]
	}
	if hasSID {
		sid = sidV[0]
	}
	switch {
	case !hasIss && !hasSID:
		return "", "", false, nil
	case hasSID && !hasIss && sidOnlyIssuer != "" && sid != "":
		return sidOnlyIssuer, sid, true, nil
	case hasIss != hasSID:
		return iss, sid, false, fmt.Errorf("%w: iss and sid must come together", ErrFrontChannelRefused)
	case iss == "" || sid == "":
		return iss, sid, false, fmt.Errorf("%w: empty iss or sid", ErrFrontChannelRefused)
	}
	return iss, sid, true, nil
}

// endBySID ends every session of (ev.Issuer, ev.SID) and clears the cookie
// if its session was one of them.
func (h *FrontChannelHandler) endBySID(ctx context.Context, w http.ResponseWriter, r *http.Request, ev Event) {
	var errs []error
	cookieMatched := false
	if id, ok := h.cookie(r); ok {
		s, err := h.get(ctx, id)
		switch {
		case err == nil:
			cookieMatched = s.Issuer == ev.Issuer && s.SID == ev.SID
			if cookieMatched {
				ev.Subject = s.Subject
			}
		case !errors.Is(err, sessionstore.ErrNotFound):
			errs = append(errs, err)
		}
	}

	// Recorded before the sessions end, for a login under way (see
	// BackChannelHandler).
	now := h.now()
	sctx, cancel := h.storeContext(ctx)
	err := h.store.RecordLogout(sctx, sessionstore.Logout{
		Issuer: ev.Issuer, SID: ev.SID,
		ReceivedAt: receivedAt(now), ExpiresAt: now.Add(h.loginTimeout),
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("logout: front-channel: recording the logout: %w", err))
	} else {
		var ended []*sessionstore.Session
		ended, err = h.store.DeleteBySID(sctx, ev.Issuer, ev.SID)
		ev.Ended = len(ended)
		if err != nil {
			errs = append(errs, fmt.Errorf("logout: front-channel: deleting sessions by sid: %w", err))
		}
	}
	cancel()
	if cookieMatched && h.clearCookie != nil {
		h.clearCookie(w)
	}
	h.finish(ctx, w, r, ev, errors.Join(errs...))
}

// endCookieSession ends the session of the request's cookie, if one came.
func (h *FrontChannelHandler) endCookieSession(ctx context.Context, w http.ResponseWriter, r *http.Request, ev Event) {
	id, ok := h.cookie(r)
	if !ok {
		h.finish(ctx, w, r, ev, nil)
		return
	}
	var errs []error
	sctx, cancel := h.storeContext(ctx)
	s, err := h.store.Delete(sctx, id)
	cancel()
	if err != nil {
		errs = append(errs, fmt.Errorf("logout: front-channel: deleting the cookie's session: %w", err))
	}
	if s != nil {
		ev.Issuer, ev.SID, ev.Subject, ev.Ended = s.Issuer, s.SID, s.Subject, 1
	}
	// The cookie is cleared even if the store failed: the browser is logged
	// out locally either way, never the other way round.
	if h.clearCookie != nil {
		h.clearCookie(w)
	}
	h.finish(ctx, w, r, ev, errors.Join(errs...))
}

func (h *FrontChannelHandler) cookie(r *http.Request) (string, bool) {
	if h.cookieSession == nil {
		return "", false
	}
	id, ok := h.cookieSession(r)
	return id, ok && id != ""
}

func (h *FrontChannelHandler) get(ctx context.Context, id string) (*sessionstore.Session, error) {
	sctx, cancel := h.storeContext(ctx)
	defer cancel()
	s, err := h.store.Get(sctx, id)
	if err != nil && !errors.Is(err, sessionstore.ErrNotFound) {
		return nil, fmt.Errorf("logout: front-channel: reading the cookie's session: %w", err)
	}
	return s, err
}

// storeContext bounds a store call by the store timeout. It keeps the
// request's values but not its cancellation: once a logout is accepted it
// is carried out even if the OP's page already moved on.
func (h *FrontChannelHandler) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), h.storeTimeout)
}

// finish answers an accepted request: 200, or 500 if the store failed.
func (h *FrontChannelHandler) finish(ctx context.Context, w http.ResponseWriter, r *http.Request, ev Event, err error) {
	if err != nil {
		ev.Err = err
		h.logger.ErrorContext(ctx, "logout: front-channel logout failed", "event", ev)
		h.onLogout.Emit(ctx, ev)
		h.write(w, r, http.StatusInternalServerError, frontChannelPageFailed)
		return
	}
	h.logger.InfoContext(ctx, "logout: front-channel logout", "event", ev)
	h.onLogout.Emit(ctx, ev)
	h.writeDone(w, r)
}

// writeDone writes the answer to every valid request: the same page
// whether or not sessions were ended, so that it tells a framing page
// nothing about them; it clears storage unless KeepStorage.
func (h *FrontChannelHandler) writeDone(w http.ResponseWriter, r *http.Request) {
	if h.keepStorage {
		h.write(w, r, http.StatusOK, frontChannelPageDone)
		return
	}
	w.Header().Set("Content-Security-Policy", h.cspScript)
	h.write(w, r, http.StatusOK, frontChannelPageScript)
}

// refuse answers a request that ends nothing. A refused HEAD is only
// answered: it was never a logout.
func (h *FrontChannelHandler) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, page string, ev Event) {
	if r.Method != http.MethodHead {
		h.logger.WarnContext(ctx, "logout: front-channel request refused", "event", ev)
		h.onLogout.Emit(ctx, ev)
	}
	h.write(w, r, status, page)
}

func (h *FrontChannelHandler) write(w http.ResponseWriter, r *http.Request, status int, page string) {
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(page))
	}
}

// frontChannelClip shortens an untrusted value kept in a refused request's
// event and log.
func frontChannelClip(s string) string {
	const limit = 256
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
