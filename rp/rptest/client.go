package rptest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/oidc-slo/slo/internal/testop"
)

// Client is an application (relying party) registered at a [Server]. Its
// fields are the client metadata of OpenID Connect Dynamic Client
// Registration 1.0 and the logout specifications, with their JSON names:
// the document that slo's middleware serves at /.well-known/oidc-client
// (middleware.Auth.Registration) decodes into a Client, and members this
// OP does not use (grant_types, response_types, ...) are ignored. The
// secret is not part of that document.
type Client struct {
	// ClientID is the client_id. Required.
	ClientID string `json:"client_id"`
	// ClientSecret is the client secret. Empty means a public client,
	// which authenticates with "none" (and PKCE).
	ClientSecret string `json:"-"`
	// RedirectURIs are the redirect_uris; a login's redirect_uri must be
	// one of them exactly. At least one is required.
	RedirectURIs []string `json:"redirect_uris"`
	// PostLogoutRedirectURIs are the post_logout_redirect_uris; the
	// end-session endpoint redirects only to one of them, exactly.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// FrontChannelLogoutURI is the frontchannel_logout_uri, which the OP's
	// logout page loads in an iframe.
	FrontChannelLogoutURI string `json:"frontchannel_logout_uri,omitempty"`
	// FrontChannelLogoutSessionRequired adds iss and sid to the
	// front-channel logout URL.
	FrontChannelLogoutSessionRequired bool `json:"frontchannel_logout_session_required,omitempty"`
	// BackChannelLogoutURI is the backchannel_logout_uri, where the OP
	// POSTs logout tokens.
	BackChannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// BackChannelLogoutSessionRequired asks for sid in logout tokens; this
	// OP always sends it.
	BackChannelLogoutSessionRequired bool `json:"backchannel_logout_session_required,omitempty"`
	// TokenEndpointAuthMethod is how the client authenticates at the token
	// and revocation endpoints: client_secret_basic or client_secret_post
	// (both need ClientSecret), or none (no ClientSecret). The OP refuses
	// any other method from the client. Empty accepts either secret method
	// from a client with a secret, and none from one without.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// IDTokenSignedResponseAlg is how ID tokens and logout tokens for the
	// client are signed: RS256 (the default), ES256, or HS256 with
	// ClientSecret as the key (at least 32 bytes for go-jose to verify it).
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// validate reports every problem of c at once.
func (c *Client) validate() error {
	var errs []error
	name := c.ClientID
	if name == "" {
		errs = append(errs, errors.New("rptest: client_id is required"))
	}
	if len(c.RedirectURIs) == 0 {
		errs = append(errs, fmt.Errorf("rptest: client %q: redirect_uris is required", name))
	}
	uris := slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs)
	for _, optional := range []string{c.FrontChannelLogoutURI, c.BackChannelLogoutURI} {
		if optional != "" {
			uris = append(uris, optional)
		}
	}
	for _, raw := range uris {
		if u, err := url.Parse(raw); err != nil || !u.IsAbs() || u.Host == "" || strings.Contains(raw, "#") {
			errs = append(errs, fmt.Errorf("rptest: client %q: %q is not an absolute URI without fragment", name, raw))
		}
	}
	switch c.TokenEndpointAuthMethod {
	case "":
	case "client_secret_basic", "client_secret_post":
		if c.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("rptest: client %q: token_endpoint_auth_method %s needs a client secret", name, c.TokenEndpointAuthMethod))
		}
	case "none":
		if c.ClientSecret != "" {
			errs = append(errs, fmt.Errorf("rptest: client %q: token_endpoint_auth_method none takes no client secret", name))
		}
	default:
		errs = append(errs, fmt.Errorf("rptest: client %q: unsupported token_endpoint_auth_method %q", name, c.TokenEndpointAuthMethod))
	}
	switch c.IDTokenSignedResponseAlg {
	case "", "RS256", "ES256":
	case "HS256":
		if c.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("rptest: client %q: id_token_signed_response_alg HS256 needs a client secret", name))
		}
	default:
		errs = append(errs, fmt.Errorf("rptest: client %q: unsupported id_token_signed_response_alg %q", name, c.IDTokenSignedResponseAlg))
	}
	return errors.Join(errs...)
}

// Register registers c, replacing any client with the same ClientID (an
// application learns its address only once it listens). It reports every
// problem with c at once.
func (s *Server) Register(c Client) error {
	if err := c.validate(); err != nil {
		return err
	}
	tc := testop.Client{
		ID:                                c.ClientID,
		Secret:                            c.ClientSecret,
		RedirectURIs:                      c.RedirectURIs,
		PostLogoutRedirectURIs:            c.PostLogoutRedirectURIs,
		FrontChannelLogoutSessionRequired: c.FrontChannelLogoutSessionRequired,
		BackChannelLogoutURI:              c.BackChannelLogoutURI,
		BackChannelLogoutSessionRequired:  c.BackChannelLogoutSessionRequired,
		TokenEndpointAuthMethod:           c.TokenEndpointAuthMethod,
		IDTokenSigningAlg:                 c.IDTokenSignedResponseAlg,
	}
	if c.FrontChannelLogoutURI != "" {
		tc.FrontChannelLogoutURIs = []string{c.FrontChannelLogoutURI}
	}
	if err := s.op.AddClient(tc); err != nil {
		return fmt.Errorf("rptest: %w", err) // not reached: validate checks more
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ClientID] = c
	return nil
}

// RegisterJSON registers the client described by a registration document
// (a JSON object with the members of [Client]), such as the one slo's
// middleware serves at /.well-known/oidc-client, with the client secret
// given separately ("" for a public client). See Register.
func (s *Server) RegisterJSON(registration []byte, clientSecret string) error {
	var c Client
	if err := json.Unmarshal(registration, &c); err != nil {
		return fmt.Errorf("rptest: registration document: %w", err)
	}
	c.ClientSecret = clientSecret
	return s.Register(c)
}

// client returns the registered client id.
func (s *Server) client(id string) (Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	return c, ok
}
