package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore"
	"golang.org/x/oauth2"
)

// Access tokens for the application's API calls, renewed with the
// session's refresh token (RFC 6749 §6):
//
//   - A request whose session's access token expires within refreshAhead
//     renews it before the handler runs, and TokenSource renews it when
//     asked. Within a process one refresh per session runs at a time;
//     concurrent requests of the session wait for it and share its result,
//     and a request that read the session before a refresh (here or on
//     another replica) finds the new tokens in the store, so a rotating
//     refresh token is used once.
//   - The OP answering invalid_grant means the grant ended at the OP: the
//     session ends (a logout.Event with ChannelRefresh) and the user is
//     sent to login. Unless another replica refreshed the session a moment
//     earlier with the same refresh token (an OP that rotates refresh
//     tokens refuses the second use): then the store holds newer tokens,
//     and the session goes on with them. An OP that treats such a reuse as
//     theft and revokes the whole grant ends the session on both replicas.
//   - Any other failure (the OP unreachable, a 5xx) keeps the session with
//     its old tokens and backs off: the next attempt waits 5 s, doubling up
//     to 5 minutes, instead of calling the OP on every request.

// refreshAhead is how long before the access token's expiry it is renewed.
const refreshAhead = 30 * time.Second

// Back-off after a failed refresh.
const (
	minRefreshBackoff = 5 * time.Second
	maxRefreshBackoff = 5 * time.Minute
	// maxBackoffs bounds how many sessions' back-offs a process keeps; a
	// full table forgets one at random, which only lets that session try
	// again sooner.
	maxBackoffs = 1 << 14
)

var (
	// ErrNoSession is returned by a TokenSource whose context carries no
	// session (see LoadSession and RequireLogin).
	ErrNoSession = errors.New("middleware: no session in the context")
	// ErrSessionEnded is returned by a TokenSource whose session ended: it
	// was logged out meanwhile, or the OP refused its refresh token
	// (invalid_grant). Send the user to login.
	ErrSessionEnded = errors.New("middleware: the session ended")
	// ErrRefresh wraps a failure to renew the access token that leaves the
	// session as it is (the OP unreachable, an error other than
	// invalid_grant); the refresh is retried after a back-off.
	ErrRefresh = errors.New("middleware: token refresh failed")
	// ErrNoToken is returned by a TokenSource whose session has no usable
	// access token and no refresh token.
	ErrNoToken = errors.New("middleware: the session has no usable access token")
)

// refreshGroup lets one request per session refresh tokens at a time; the
// others wait for its result, so a rotating refresh token is used once. It
// also keeps each session's back-off after a failed refresh.
type refreshGroup struct {
	mu       sync.Mutex
	calls    map[string]*refreshCall
	backoffs map[string]backoff
}

type refreshCall struct {
	done chan struct{}
	sess *sessionstore.Session
	err  error
}

// backoff is when a session's refresh may be tried again, and how long the
// last wait was.
type backoff struct {
	until time.Time
	wait  time.Duration
}

// needsRefresh reports whether s has a refresh token and an access token
// that expires within refreshAhead.
func (a *Auth) needsRefresh(s *sessionstore.Session, now time.Time) bool {
	return s.Data.RefreshToken != "" && !s.Data.TokenExpiry.IsZero() && !now.Before(s.Data.TokenExpiry.Add(-refreshAhead))
}

// refresh renews the tokens of s. It returns the session with new tokens;
// nil and no error if the session ended; or an error: one wrapping ErrStore
// if the store failed, otherwise one wrapping ErrRefresh, with s unchanged.
// Concurrent calls for one session share one refresh.
func (a *Auth) refresh(ctx context.Context, s *sessionstore.Session) (*sessionstore.Session, error) {
	g := &a.refreshing
	g.mu.Lock()
	if b, ok := g.backoffs[s.ID]; ok && a.now().Before(b.until) {
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: backing off until %s", ErrRefresh, b.until.Format(time.RFC3339))
	}
	if c, ok := g.calls[s.ID]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.sess.Clone(), c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrRefresh, ctx.Err())
		}
	}
	c := &refreshCall{done: make(chan struct{})}
	if g.calls == nil {
		g.calls = make(map[string]*refreshCall)
	}
	g.calls[s.ID] = c
	g.mu.Unlock()

	c.sess, c.err = a.doRefresh(ctx, s)

	g.mu.Lock()
	delete(g.calls, s.ID)
	switch {
	case errors.Is(c.err, ErrRefresh):
		b := g.backoffs[s.ID]
		b.wait = min(max(2*b.wait, minRefreshBackoff), maxRefreshBackoff)
		b.until = a.now().Add(b.wait)
		if g.backoffs == nil {
			g.backoffs = make(map[string]backoff)
		}
		if _, ok := g.backoffs[s.ID]; !ok && len(g.backoffs) >= maxBackoffs {
			for id := range g.backoffs {
				delete(g.backoffs, id)
				break
			}
		}
		g.backoffs[s.ID] = b
	default:
		delete(g.backoffs, s.ID)
	}
	g.mu.Unlock()
	close(c.done)
	return c.sess.Clone(), c.err
}

func (a *Auth) doRefresh(ctx context.Context, s *sessionstore.Session) (*sessionstore.Session, error) {
	// A request that read the session before another one (here or on
	// another replica) refreshed it holds spent tokens: the store has the
	// new ones, and the OP must not see the old refresh token again.
	cur, err := a.store.Get(ctx, s.ID)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	case cur.Data.RefreshToken != s.Data.RefreshToken || !a.needsRefresh(cur, a.now()):
		return cur, nil
	}
	s = cur
	res, err := a.client.Refresh(ctx, s.Data.RefreshToken, s.Subject)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		return a.refreshRefused(ctx, s)
	case err != nil:
		a.logger.WarnContext(ctx, "slo: token refresh failed; keeping the old tokens and backing off", slog.Any("session", s), slog.Any("error", err))
		return nil, fmt.Errorf("%w: %w", ErrRefresh, err)
	}
	n := s.Clone()
	setTokens(&n.Data, res.Token, a.now())
	if res.RawIDToken != "" {
		n.Data.IDToken = res.RawIDToken
	}
	switch err := a.store.Update(ctx, n); {
	case errors.Is(err, sessionstore.ErrNotFound):
		return nil, nil // logged out meanwhile: stays logged out
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return n, nil
}

// refreshRefused handles an invalid_grant answer to the refresh of s: if
// another replica refreshed s meanwhile, its tokens are used; otherwise the
// session ends.
func (a *Auth) refreshRefused(ctx context.Context, s *sessionstore.Session) (*sessionstore.Session, error) {
	cur, err := a.store.Get(ctx, s.ID)
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	case cur.Data.RefreshToken != s.Data.RefreshToken:
		a.logger.InfoContext(ctx, "slo: token refresh lost a race with another replica; using its tokens", slog.Any("session", s))
		return cur, nil
	}
	ev := logout.Event{Channel: logout.ChannelRefresh, Issuer: s.Issuer, SID: s.SID, Subject: s.Subject}
	ended, err := a.store.Delete(ctx, s.ID)
	ev.Ended = count(ended)
	if err != nil {
		ev.Err = fmt.Errorf("%w: %w", ErrStore, err)
		a.onLogout.Emit(ctx, ev)
		a.logger.ErrorContext(ctx, "slo: the OP refused the refresh token, and ending the session failed", slog.Any("error", ev.Err))
		return nil, ev.Err
	}
	a.onLogout.Emit(ctx, ev)
	a.logger.InfoContext(ctx, "slo: the OP refused the refresh token (invalid_grant); session ended", slog.Any("session", s))
	return nil, nil
}

// TokenSource returns a token source for the access token of the session
// in ctx (put there by LoadSession or RequireLogin), for calling APIs on
// the user's behalf. It returns the session's access token while it is
// valid for more than 30 seconds and renews it with the refresh token
// otherwise, storing the new tokens with the session; see the package
// documentation for concurrency, back-off and invalid_grant. Its errors
// match ErrNoSession, ErrSessionEnded (send the user to login), ErrNoToken,
// ErrRefresh or ErrStore. Renewals use ctx.
func (a *Auth) TokenSource(ctx context.Context) oauth2.TokenSource {
	s, _ := SessionFromContext(ctx)
	return &sessionTokens{a: a, ctx: ctx, s: s}
}

// HTTPClient returns an HTTP client that sends the access token of the
// session in ctx as a Bearer token with every request (oauth2.NewClient
// over TokenSource). It uses the HTTP client ctx carries for oauth2, if
// any.
func (a *Auth) HTTPClient(ctx context.Context) *http.Client {
	return oauth2.NewClient(ctx, a.TokenSource(ctx))
}

// sessionTokens is the token source of one session.
type sessionTokens struct {
	a   *Auth
	ctx context.Context

	mu sync.Mutex
	s  *sessionstore.Session
}

// current returns the session's access token if it has not expired and,
// with fresh set, does not need renewing yet.
func (t *sessionTokens) current(fresh bool) (*oauth2.Token, bool) {
	now := t.a.now()
	switch {
	case t.s == nil || t.s.Data.AccessToken == "":
		return nil, false
	case !t.s.Data.TokenExpiry.IsZero() && !now.Before(t.s.Data.TokenExpiry):
		return nil, false
	case fresh && t.a.needsRefresh(t.s, now):
		return nil, false
	}
	return &oauth2.Token{AccessToken: t.s.Data.AccessToken, TokenType: "Bearer", Expiry: t.s.Data.TokenExpiry}, true
}

// Token implements oauth2.TokenSource.
func (t *sessionTokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s == nil {
		return nil, ErrNoSession
	}
	if tok, ok := t.current(true); ok {
		return tok, nil
	}
	if t.s.Data.RefreshToken == "" {
		return nil, ErrNoToken
	}
	n, err := t.a.refresh(t.ctx, t.s)
	switch {
	case err != nil:
		return nil, err
	case n == nil:
		return nil, ErrSessionEnded
	}
	t.s = n
	if tok, ok := t.current(false); ok {
		return tok, nil
	}
	return nil, ErrNoToken
}
