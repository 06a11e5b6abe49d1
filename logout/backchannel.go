package logout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unsafe"

	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// Defaults of [BackChannelConfig].
const (
	// DefaultMaxBodyBytes bounds the back-channel request body.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultStoreTimeout bounds the work done after a token was verified:
	// the replay check, ending the sessions and the Revoke hook.
	DefaultStoreTimeout = 5 * time.Second
	// DefaultLoginTimeout is how long a logout is remembered for logins
	// that were under way when it arrived.
	DefaultLoginTimeout = 10 * time.Minute
)

// BackChannelConfig configures [NewBackChannelHandler].
type BackChannelConfig struct {
	// Verifier checks the logout tokens. Required.
	Verifier *Verifier
	// Store holds the sessions to end. Required. When it implements
	// [sessionstore.SIDSubjectDeleter] (memstore, redisstore and pgstore
	// do), a token naming both sid and sub whose sid has a live session of
	// another subject is refused with 400 ([ReasonSubjectMismatch]) and
	// ends nothing. A store without it gets DeleteBySID for such a token:
	// the sid's sessions end whatever their subject.
	Store sessionstore.Store
	// SingleUse remembers the jti of every accepted token (namespace
	// [sessionstore.LogoutTokens]), so that a token is accepted once.
	// Default: a [memstore.SingleUse] on the verifier's clock, which
	// protects one process only; give replicas a shared one (redisstore,
	// pgstore).
	SingleUse sessionstore.SingleUse
	// SingleUseFailOpen accepts a token when SingleUse fails (the failure
	// is logged at Error). By default such a token is refused with 400,
	// which the OP may retry.
	SingleUseFailOpen bool
	// LoginTimeout is how long the store remembers that an OP session (or
	// every session of a subject) was logged out, so that a login already
	// under way cannot create a session after the logout
	// ([sessionstore.Store.RecordLogout]). Set it to the longest a login
	// may take. Default 10 minutes.
	LoginTimeout time.Duration
	// MaxBodyBytes bounds the request body; a larger one is answered with
	// 413 Request Entity Too Large. Default [DefaultMaxBodyBytes].
	MaxBodyBytes int64
	// StoreTimeout bounds everything done after the token was verified.
	// That work runs on a context detached from the request's cancellation,
	// so an OP that hangs up cannot interrupt a half-done logout. Default
	// [DefaultStoreTimeout].
	StoreTimeout time.Duration
	// OnLogout receives one [Event] (Channel [ChannelBackChannel]) per POST
	// that carried a single, non-empty logout_token, whether it was
	// accepted or not. Requests refused before that (wrong method, content
	// type, oversized or malformed body, missing or repeated logout_token)
	// are only logged.
	OnLogout Hook
	// Logger receives the handler's logs: rejections at Warn (with the
	// reason), store and cache failures at Error, successes at Info. Nil
	// means slog.Default(). Tokens are never logged.
	Logger *slog.Logger
	// Revoke, if set, is called with the verified token and the sessions
	// it ended, after the replay check and after the store was asked to
	// end them (whether or not that succeeded), for example to revoke their
	// refresh tokens at the OP (RFC 7009; Back-Channel Logout §2.7 says
	// refresh tokens issued without offline_access SHOULD be revoked). It
	// is not called for a token refused as a replay or for a subject
	// mismatch (nothing was ended), which the store only detects while
	// ending the sessions. Its context is the detached one bounded by
	// StoreTimeout. An error is logged at Error and does not change the
	// response.
	Revoke func(ctx context.Context, t *Token, ended []*sessionstore.Session) error
}

// BackChannelHandler is the relying party's backchannel_logout_uri: an
// [http.Handler] that receives logout tokens POSTed by the OP and ends the
// sessions they name (OpenID Connect Back-Channel Logout 1.0 §2.5–2.8).
type BackChannelHandler struct {
	verifier     *Verifier
	store        sessionstore.Store
	used         sessionstore.SingleUse
	failOpen     bool
	loginTimeout time.Duration
	maxBody      int64
	storeTimeout time.Duration
	onLogout     Hook
	logger       *slog.Logger
	revoke       func(context.Context, *Token, []*sessionstore.Session) error
}

// NewBackChannelHandler validates cfg and returns a handler. It reports
// every problem in cfg at once.
func NewBackChannelHandler(cfg BackChannelConfig) (*BackChannelHandler, error) {
	var errs []error
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("logout: BackChannelConfig.Verifier is nil"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("logout: BackChannelConfig.Store is nil"))
	}
	if cfg.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("logout: BackChannelConfig.MaxBodyBytes is negative"))
	}
	if cfg.StoreTimeout < 0 {
		errs = append(errs, errors.New("logout: BackChannelConfig.StoreTimeout is negative"))
	}
	if cfg.LoginTimeout < 0 {
		errs = append(errs, errors.New("logout: BackChannelConfig.LoginTimeout is negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	h := &BackChannelHandler{
		verifier:     cfg.Verifier,
		store:        cfg.Store,
		used:         cfg.SingleUse,
		failOpen:     cfg.SingleUseFailOpen,
		loginTimeout: cfg.LoginTimeout,
		maxBody:      cfg.MaxBodyBytes,
		storeTimeout: cfg.StoreTimeout,
		onLogout:     cfg.OnLogout,
		logger:       cfg.Logger,
		revoke:       cfg.Revoke,
	}
	if h.used == nil {
		h.used = memstore.NewSingleUse(memstore.SingleUseConfig{Now: cfg.Verifier.now})
	}
	if h.loginTimeout == 0 {
		h.loginTimeout = DefaultLoginTimeout
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if h.storeTimeout == 0 {
		h.storeTimeout = DefaultStoreTimeout
	}
	return h, nil
}

// formContentType is the only media type a back-channel request may have.
const formContentType = "application/x-www-form-urlencoded"

// ServeHTTP handles one back-channel logout request, answering as the
// package documentation describes.
func (h *BackChannelHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr["Cache-Control"] = []string{"no-store"}
	hdr["Pragma"] = []string{"no-cache"}
	ctx := r.Context()

	if r.Method != http.MethodPost {
		hdr["Allow"] = []string{http.MethodPost}
		h.refuse(ctx, w, http.StatusMethodNotAllowed, "method not allowed", "method", r.Method)
		return
	}
	raw, status, why := h.readToken(w, r)
	if status != 0 {
		h.refuse(ctx, w, status, why, "reason", why)
		return
	}

	ev := Event{Channel: ChannelBackChannel}
	tok, err := h.verifier.Verify(ctx, raw)
	if err != nil {
		ev.Err = err
		h.logRefusal(ctx, err)
		h.finish(ctx, w, ev)
		return
	}
	ev.Issuer, ev.SID, ev.Subject = tok.Issuer, tok.SID, tok.Subject

	// From here on the work must not be cut short by the OP hanging up.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.storeTimeout)
	defer cancel()
	ev.Ended, ev.Err = h.end(dctx, tok)
	h.finish(ctx, w, ev)
}

// readToken checks the request's shape and returns the logout_token from
// its body, or the status and a short reason to refuse it with.
func (h *BackChannelHandler) readToken(w http.ResponseWriter, r *http.Request) (string, int, string) {
	if ct := r.Header.Get("Content-Type"); ct != formContentType {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != formContentType {
			return "", http.StatusBadRequest, "content type is not " + formContentType
		}
	}
	if r.ContentLength > h.maxBody {
		return "", http.StatusRequestEntityTooLarge, "body too large"
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, h.maxBody), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", http.StatusRequestEntityTooLarge, "body too large"
		}
		return "", http.StatusBadRequest, "reading body failed"
	}
	// The buffer is this request's own and is never written again, so the
	// token can be read from it without a copy.
	tok, why := logoutTokenParam(unsafe.String(unsafe.SliceData(body), len(body)))
	if why != "" {
		return "", http.StatusBadRequest, why
	}
	return tok, 0, ""
}

// readBody reads r whole, in one allocation when the length is known.
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 {
		return io.ReadAll(r)
	}
	// One spare byte, so that reading to EOF does not grow the buffer.
	buf := make([]byte, contentLength+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	// Longer than announced: read the rest (still bounded by the caller).
	rest, err := io.ReadAll(r)
	return append(buf, rest...), err
}

// logoutTokenParam returns the single logout_token of a form-encoded body,
// or why there is none. It reads the body as [url.ParseQuery] does and
// refuses it as a whole where ParseQuery reports an error (a bad
// percent-escape in any name or value, or a ";" in a pair): with a pair
// skipped, a repeated logout_token could go unnoticed. Unlike ParseQuery it
// builds no map and copies nothing but an escaped token, which keeps the
// handler within its budget (BENCHMARKS.md, "Back-channel logout";
// FuzzLogoutTokenParam checks it against ParseQuery).
func logoutTokenParam(body string) (string, string) {
	const malformed = "malformed form body"
	var tok string
	n := 0
	for rest := body; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			return "", malformed
		}
		if pair == "" {
			continue
		}
		key, val, _ := strings.Cut(pair, "=")
		if !validEscapes(key) || !validEscapes(val) {
			return "", malformed
		}
		if key != "logout_token" && (!needsUnescape(key) || unescape(key) != "logout_token") {
			continue
		}
		n++
		tok = val
	}
	switch {
	case n == 0:
		return "", "logout_token missing"
	case n > 1:
		return "", "logout_token repeated"
	}
	if needsUnescape(tok) {
		tok = unescape(tok)
	}
	if tok == "" {
		return "", "logout_token empty"
	}
	return tok, ""
}

// validEscapes reports whether every "%" in s starts a two-hex-digit
// escape, which is all that url.QueryUnescape checks.
func validEscapes(s string) bool {
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			return true
		}
		if len(s)-i < 3 || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// needsUnescape reports whether s, a form name or value, reads differently
// once unescaped.
func needsUnescape(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

// unescape decodes s, whose escapes validEscapes has accepted.
func unescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return "" // unreachable: the escapes were checked
	}
	return u
}

// end does everything after a valid token: the replay check, recording
// the logout for logins under way, ending the sessions (with the sid/sub
// consistency check when the store offers it) and the Revoke hook.
func (h *BackChannelHandler) end(ctx context.Context, tok *Token) (int, error) {
	used, err := h.used.Use(ctx, jtiKey(tok), h.verifier.replayUntil(tok))
	switch {
	case err != nil && !h.failOpen:
		return 0, fmt.Errorf("logout: single-use check: %w", err)
	case err != nil:
		h.logger.ErrorContext(ctx, "logout: single-use check failed; accepting the token (fail-open)", "error", err, "token", tok)
	case used:
		return 0, &ValidationError{Reason: ReasonReplayed}
	}
	// Recorded before the sessions end: a login that creates its session
	// after the delete finds the record, one that created it before is
	// ended by the delete.
	err = h.store.RecordLogout(ctx, sessionstore.Logout{
		Issuer: tok.Issuer, SID: tok.SID, Subject: tok.Subject,
		ReceivedAt: receivedAt(h.verifier.now()), IssuedAt: tok.IssuedAt,
		ExpiresAt: h.verifier.now().Add(h.loginTimeout),
	})
	var ended []*sessionstore.Session
	if err == nil {
		ended, err = endSessions(ctx, h.store, tok)
	}
	if errors.Is(err, sessionstore.ErrSubjectMismatch) {
		// Refused, and refused tokens are not remembered: a retry is
		// judged again rather than reported as a replay.
		h.forget(ctx, tok)
		return 0, &ValidationError{Reason: ReasonSubjectMismatch, Err: err}
	}
	if h.revoke != nil {
		if rerr := h.revoke(ctx, tok, ended); rerr != nil {
			h.logger.ErrorContext(ctx, "logout: back-channel revoke hook failed", "error", rerr, "token", tok)
		}
	}
	if err != nil {
		// Let the OP's retry of this very token through.
		h.forget(ctx, tok)
		return len(ended), fmt.Errorf("logout: ending sessions: %w", err)
	}
	return len(ended), nil
}

// jtiKey is the single-use key of tok.
func jtiKey(tok *Token) sessionstore.Key {
	return sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: tok.Issuer, ID: tok.JTI}
}

// receivedAt rounds now up to a whole millisecond, the precision stores
// keep logout records in, so that rounding never moves a logout earlier.
func receivedAt(now time.Time) time.Time {
	if t := now.Truncate(time.Millisecond); !t.Equal(now) {
		return t.Add(time.Millisecond)
	}
	return now
}

// forget drops tok's jti from the single-use store.
func (h *BackChannelHandler) forget(ctx context.Context, tok *Token) {
	if err := h.used.Forget(ctx, jtiKey(tok)); err != nil {
		h.logger.ErrorContext(ctx, "logout: forgetting a logout token id failed", "error", err, "token", tok)
	}
}

// endSessions ends the sessions a verified token names. With a sid, those
// of (iss, sid); if the token also has a sub and the store is a
// [sessionstore.SIDSubjectDeleter], only when none of them belongs to
// another subject, in one atomic store call (otherwise nothing ends and the
// error matches [sessionstore.ErrSubjectMismatch]). Without a sid, every
// session of (iss, sub).
func endSessions(ctx context.Context, store sessionstore.Store, tok *Token) ([]*sessionstore.Session, error) {
	if tok.SID == "" {
		return store.DeleteBySubject(ctx, tok.Issuer, tok.Subject)
	}
	if d, ok := store.(sessionstore.SIDSubjectDeleter); ok && tok.Subject != "" {
		return d.DeleteBySIDAndSubject(ctx, tok.Issuer, tok.SID, tok.Subject)
	}
	return store.DeleteBySID(ctx, tok.Issuer, tok.SID)
}

// finish emits ev, logs it and writes the response.
func (h *BackChannelHandler) finish(ctx context.Context, w http.ResponseWriter, ev Event) {
	h.onLogout.Emit(ctx, ev)
	if ev.Err == nil {
		h.logger.InfoContext(ctx, "logout: back-channel logout", "event", ev)
		w.WriteHeader(http.StatusOK)
		return
	}
	var ve *ValidationError
	if errors.As(ev.Err, &ve) {
		if ve.Reason == ReasonReplayed || ve.Reason == ReasonSubjectMismatch {
			h.logger.WarnContext(ctx, "logout: back-channel logout token refused", "reason", ve.Reason, "event", ev)
		}
	} else {
		h.logger.ErrorContext(ctx, "logout: back-channel logout failed", "event", ev)
	}
	writeError(w, http.StatusBadRequest)
}

// logRefusal logs why a token was refused: at Warn, except where the
// refusal is the relying party's setup rather than the token (a missing exp
// that the OP will keep sending, the OP's keys not known yet), at Error,
// naming what to do.
func (h *BackChannelHandler) logRefusal(ctx context.Context, err error) {
	switch {
	case reasonOf(err) == ReasonMissingExp:
		h.logger.ErrorContext(ctx, "logout: back-channel logout token refused: it has no exp claim, as OPs built to the "+
			"pre-2023 text of Back-Channel Logout send them (Ory Hydra, Keycloak before 23.0.4, node oidc-provider 6.x); "+
			"to accept such tokens set VerifierConfig.AllowMissingExp (middleware.Config.Verifier.AllowMissingExp)",
			"reason", ReasonMissingExp, "error", err)
	case errors.Is(err, rp.ErrOPUnavailable):
		h.logger.ErrorContext(ctx, "logout: back-channel logout token refused: the OP's keys are not known yet (discovery has not succeeded); the OP will retry",
			"reason", reasonOf(err), "error", err)
	default:
		h.logger.WarnContext(ctx, "logout: back-channel logout token refused", "reason", reasonOf(err), "error", err)
	}
}

// refuse logs and answers a request refused before its token was looked at.
func (h *BackChannelHandler) refuse(ctx context.Context, w http.ResponseWriter, status int, msg string, attrs ...any) {
	h.logger.WarnContext(ctx, "logout: back-channel request refused: "+msg, attrs...)
	writeError(w, status)
}

// errorBody is the only error body the handler sends: OAuth 2.0 §5.2 style,
// generic, never echoing the request.
var errorBody = []byte(`{"error":"invalid_request","error_description":"the logout request is invalid or the logout failed"}` + "\n")

func writeError(w http.ResponseWriter, status int) {
	w.Header()["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	_, _ = w.Write(errorBody)
}

// reasonOf returns the ValidationError reason in err, or "".
func reasonOf(err error) Reason {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}
