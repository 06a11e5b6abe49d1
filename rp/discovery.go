package rp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Discovery retry timing (Config.DeferDiscovery): after the nth failed
// attempt in a row the next one waits min(minDiscoveryBackoff·2ⁿ⁻¹,
// maxDiscoveryBackoff).
const (
	minDiscoveryBackoff = time.Second
	maxDiscoveryBackoff = time.Minute
	// maxDiscovery bounds one attempt, whatever the HTTP client's timeout.
	maxDiscovery = 30 * time.Second
)

// provider is what discovery found about the OP. It never changes once
// built.
type provider struct {
	meta  Metadata
	oauth oauth2.Config
}

// discover runs OpenID Connect discovery for cfg.Issuer and checks the
// result: issuer, required endpoints, https.
func discover(ctx context.Context, cfg Config) (*provider, error) {
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	var meta Metadata
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	// go-oidc has checked this too; it is what makes Metadata trustworthy.
	if meta.Issuer != cfg.Issuer {
		return nil, fmt.Errorf("rp: discovery: issuer %q does not match %q", meta.Issuer, cfg.Issuer)
	}
	if cfg.EndSessionURL != "" {
		meta.EndSessionEndpoint = cfg.EndSessionURL
	}
	if err := meta.validate(cfg.InsecureAllowHTTP); err != nil {
		return nil, err
	}
	p := &provider{meta: meta, oauth: oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   meta.AuthorizationEndpoint,
			TokenURL:  meta.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: cfg.RedirectURL,
		Scopes:      cfg.Scopes,
	}}
	if cfg.AuthMethod != AuthMethodBasic {
		p.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	if cfg.AuthMethod == AuthMethodNone {
		p.oauth.ClientSecret = ""
	}
	return p, nil
}

// discovery is the retry state of a Client whose discovery has not
// succeeded yet.
type discovery struct {
	mu       sync.Mutex
	inflight *attempt  // the attempt under way, nil if none
	failures int       // failed attempts in a row
	next     time.Time // no attempt before then
	lastErr  error     // why the last attempt failed
}

// attempt is one discovery request that several callers wait for.
type attempt struct {
	done chan struct{}
	p    *provider
	err  error
}

// provider returns what discovery found. Before discovery has succeeded it
// makes an attempt if the backoff allows one (concurrent callers share it)
// and otherwise returns an *UnavailableError at once.
func (c *Client) provider(ctx context.Context) (*provider, error) {
	if p := c.op.Load(); p != nil {
		return p, nil
	}
	d := &c.discovery
	d.mu.Lock()
	if p := c.op.Load(); p != nil {
		d.mu.Unlock()
		return p, nil
	}
	a := d.inflight
	if a == nil {
		if wait := d.next.Sub(c.now()); wait > 0 {
			err := &UnavailableError{RetryAfter: wait, Err: d.lastErr}
			d.mu.Unlock()
			return nil, err
		}
		a = &attempt{done: make(chan struct{})}
		d.inflight = a
		// The attempt outlives a caller that gives up, since others may
		// wait for it, but no more than maxDiscovery.
		go func() {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxDiscovery)
			defer cancel()
			c.attempt(actx, a)
		}()
	}
	d.mu.Unlock()

	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("rp: waiting for discovery: %w", ctx.Err())
	case <-a.done:
		return a.p, a.err
	}
}

// attempt runs one discovery attempt and publishes its outcome.
func (c *Client) attempt(ctx context.Context, a *attempt) {
	p, err := discover(ctx, c.cfg)
	if err != nil {
		a.err = c.failed(ctx, err)
	} else {
		d := &c.discovery
		d.mu.Lock()
		c.op.Store(p)
		d.inflight, d.failures, d.next, d.lastErr = nil, 0, time.Time{}, nil
		d.mu.Unlock()
		a.p = p
		c.log.InfoContext(ctx, "rp: discovery succeeded", "issuer", c.cfg.Issuer)
	}
	close(a.done)
}

// failed records a failed discovery attempt, logs it at Error and returns
// the error for its callers.
func (c *Client) failed(ctx context.Context, err error) *UnavailableError {
	d := &c.discovery
	d.mu.Lock()
	d.failures++
	backoff := maxDiscoveryBackoff
	if d.failures <= 7 { // 2⁶ s > 1 min
		backoff = min(minDiscoveryBackoff<<(d.failures-1), maxDiscoveryBackoff)
	}
	d.next = c.now().Add(backoff)
	d.lastErr = err
	d.inflight = nil
	failures := d.failures
	d.mu.Unlock()
	c.log.ErrorContext(ctx, "rp: discovery failed; retrying when a call needs the OP", "issuer", c.cfg.Issuer, "attempts", failures, "retry_after", backoff, "err", err)
	return &UnavailableError{RetryAfter: backoff, Err: err}
}

// current returns what discovery found without I/O, for calls that take
// no context, or the *UnavailableError of a Client whose discovery
// has not succeeded.
func (c *Client) current() (*provider, error) {
	if p := c.op.Load(); p != nil {
		return p, nil
	}
	d := &c.discovery
	d.mu.Lock()
	defer d.mu.Unlock()
	return nil, &UnavailableError{RetryAfter: max(d.next.Sub(c.now()), 0), Err: d.lastErr}
}

// Ready returns nil once discovery has succeeded. Before that (only with
// Config.DeferDiscovery) it retries discovery if the backoff allows,
// sharing the attempt with concurrent callers, and returns nil if that
// succeeds, or else an *UnavailableError (matching ErrOPUnavailable) whose
// RetryAfter says when to try again. Call it first in handlers that use the
// OP, to answer 503 with Retry-After while the OP is unreachable.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.provider(ctx)
	return err
}

// Discovered reports whether discovery has succeeded, without I/O. It is
// always true without Config.DeferDiscovery.
func (c *Client) Discovered() bool { return c.op.Load() != nil }

// jwksURL returns the OP's jwks_uri for the KeySet, retrying discovery if
// needed.
func (c *Client) jwksURL(ctx context.Context) (string, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return "", err
	}
	return p.meta.JWKSURL, nil
}
