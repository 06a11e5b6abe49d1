package hydraop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Client is a client registration in the names of Hydra's admin API
// (those of OpenID Connect Dynamic Client Registration), for
// POST /admin/clients. slo's registration JSON decodes into it.
type Client struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret,omitempty"`
	// Scope is the space-separated list of scopes the client may ask for.
	// Empty means Hydra's default, "offline_access offline openid".
	Scope                             string   `json:"scope,omitempty"`
	RedirectURIs                      []string `json:"redirect_uris"`
	PostLogoutRedirectURIs            []string `json:"post_logout_redirect_uris,omitempty"`
	FrontChannelLogoutURI             string   `json:"frontchannel_logout_uri,omitempty"`
	FrontChannelLogoutSessionRequired bool     `json:"frontchannel_logout_session_required,omitempty"`
	BackChannelLogoutURI              string   `json:"backchannel_logout_uri,omitempty"`
	BackChannelLogoutSessionRequired  bool     `json:"backchannel_logout_session_required,omitempty"`
	GrantTypes                        []string `json:"grant_types,omitempty"`
	ResponseTypes                     []string `json:"response_types,omitempty"`
	TokenEndpointAuthMethod           string   `json:"token_endpoint_auth_method,omitempty"`
}

// AdminTimeout bounds each call of Hydra's admin API.
const AdminTimeout = 10 * time.Second

var httpClient = &http.Client{Timeout: AdminTimeout}

// FetchRegistration GETs the registration JSON an application serves (slo's
// middleware serves it at /.well-known/oidc-client) and decodes it. Fields
// Hydra does not know are dropped; the secret is not part of it.
func FetchRegistration(ctx context.Context, metadataURL string) (Client, error) {
	var c Client
	if err := call(ctx, http.MethodGet, metadataURL, nil, &c); err != nil {
		return Client{}, fmt.Errorf("hydraop: fetching the registration: %w", err)
	}
	return c, nil
}

// Register creates c through the admin API (POST /admin/clients).
func (s *Server) Register(ctx context.Context, c Client) error {
	var created Client
	if err := call(ctx, http.MethodPost, s.admin+"/admin/clients", c, &created); err != nil {
		return fmt.Errorf("hydraop: registering client %q: %w", c.ID, err)
	}
	if created.ID != c.ID {
		return fmt.Errorf("hydraop: registered client %q, Hydra answered %q", c.ID, created.ID)
	}
	return nil
}

// The admin API's challenge requests, as far as the apps use them.
type (
	loginRequest struct {
		Challenge string    `json:"challenge"`
		Skip      bool      `json:"skip"`
		Subject   string    `json:"subject"`
		SessionID string    `json:"session_id"`
		Client    apiClient `json:"client"`
	}
	consentRequest struct {
		Challenge         string    `json:"challenge"`
		Skip              bool      `json:"skip"`
		Subject           string    `json:"subject"`
		LoginSessionID    string    `json:"login_session_id"`
		RequestedScope    []string  `json:"requested_scope"`
		RequestedAudience []string  `json:"requested_access_token_audience"`
		Client            apiClient `json:"client"`
	}
	logoutRequest struct {
		Challenge   string     `json:"challenge"`
		Subject     string     `json:"subject"`
		SID         string     `json:"sid"`
		RequestURL  string     `json:"request_url"`
		RPInitiated bool       `json:"rp_initiated"`
		Client      *apiClient `json:"client"`
	}
	apiClient struct {
		ID string `json:"client_id"`
	}
	redirect struct {
		To string `json:"redirect_to"`
	}
)

// getRequest reads the challenge of kind ("login", "consent", "logout").
func (s *Server) getRequest(ctx context.Context, kind, challenge string, v any) error {
	u := s.admin + "/admin/oauth2/auth/requests/" + kind + "?" + url.Values{kind + "_challenge": {challenge}}.Encode()
	return call(ctx, http.MethodGet, u, nil, v)
}

// accept accepts the challenge of kind with body and returns where Hydra
// sends the browser next.
func (s *Server) accept(ctx context.Context, kind, challenge string, body any) (string, error) {
	u := s.admin + "/admin/oauth2/auth/requests/" + kind + "/accept?" + url.Values{kind + "_challenge": {challenge}}.Encode()
	var r redirect
	if err := call(ctx, http.MethodPut, u, body, &r); err != nil {
		return "", err
	}
	if r.To == "" {
		return "", fmt.Errorf("hydraop: accepting %s: no redirect_to", kind)
	}
	return r.To, nil
}

// call sends a JSON request (body may be nil) and decodes a 2xx JSON answer
// into out.
func call(ctx context.Context, method, u string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, u, err)
	}
	return nil
}
