package testop

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Delivery is the outcome of one back-channel logout POST.
type Delivery struct {
	// ClientID is the client notified.
	ClientID string
	// URI is its backchannel_logout_uri.
	URI string
	// Status is the HTTP status answered, or 0 if the request failed.
	Status int
	// Err is the transport error, or nil.
	Err error
	// LogoutToken is the token that was sent.
	LogoutToken string
}

// Deliveries returns every back-channel delivery made so far, oldest first.
func (op *OP) Deliveries() []Delivery {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]Delivery(nil), op.deliveries...)
}

// backChannelTarget is one client to notify about one ended OP session.
type backChannelTarget struct {
	client Client
	sub    string
	sid    string
}

// deliverBackChannel POSTs a logout token to every target concurrently and
// waits for all of them (each bounded by HTTPClient's timeout and ctx).
func (op *OP) deliverBackChannel(ctx context.Context, targets []backChannelTarget) []Delivery {
	if len(targets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, op.cfg.BackChannelTimeout)
	defer cancel()
	out := make([]Delivery, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = op.deliverOne(ctx, t)
		}()
	}
	wg.Wait()
	op.mu.Lock()
	op.deliveries = append(op.deliveries, out...)
	op.mu.Unlock()
	if op.cfg.OnBackChannel != nil {
		for _, d := range out {
			op.cfg.OnBackChannel(d)
		}
	}
	return out
}

func (op *OP) deliverOne(ctx context.Context, t backChannelTarget) Delivery {
	d := Delivery{ClientID: t.client.ID, URI: t.client.BackChannelLogoutURI}
	claims := op.LogoutClaims(t.client.ID, t.sub, t.sid)
	typ := "logout+jwt"
	if op.cfg.LegacyLogoutTokens {
		delete(claims, "exp")
		typ = "JWT"
	}
	tok, err := op.sign(claims, typ, nil)
	if err != nil {
		d.Err = err
		return d
	}
	d.LogoutToken = tok
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URI, strings.NewReader(body))
	if err != nil {
		d.Err = fmt.Errorf("testop: back-channel request: %w", err)
		return d
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := op.cfg.HTTPClient.Do(req)
	if err != nil {
		d.Err = fmt.Errorf("testop: back-channel POST: %w", err)
		op.logger.WarnContext(ctx, "testop: back-channel delivery failed", "client_id", d.ClientID, "err", err)
		return d
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	d.Status = resp.StatusCode
	if d.Status != http.StatusOK {
		op.logger.WarnContext(ctx, "testop: back-channel delivery refused", "client_id", d.ClientID, "status", d.Status)
	}
	return d
}
