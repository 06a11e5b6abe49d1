package oidcprovider

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version selects the pinned oidc-provider release.
type Version string

// The pinned releases (see the package documentation).
const (
	V9 Version = "v9" // oidc-provider 9.x: RP-initiated and back-channel logout
	V6 Version = "v6" // oidc-provider 6.31.1: front-channel, session management, draft back-channel
)

// Options configure one OP process.
type Options struct {
	// Version is the release to run. Default V9.
	Version Version
	// Host is the listen address and the issuer's host. Default "127.0.0.1".
	Host string
	// Clients are registered statically.
	Clients []Client
	// Account is the account id the automatic login signs in when the
	// authorization request has no login_hint. Default "alice".
	Account string
	// Logout is the answer to the OP's logout prompt: LogoutAll (default)
	// ends the OP session and notifies every client of it; LogoutClient ends
	// only the requesting client's part of it.
	Logout LogoutAnswer
}

// LogoutAnswer is how the OP's logout prompt is answered.
type LogoutAnswer string

// Logout prompt answers.
const (
	LogoutAll    LogoutAnswer = "all"
	LogoutClient LogoutAnswer = "client"
)

// Client is the registration of one RP, in oidc-provider's client metadata
// names.
type Client struct {
	ID string `json:"client_id"`
	// Secret is the client secret; empty with Public.
	Secret string `json:"client_secret,omitempty"`
	// Public registers a client without a secret
	// (token_endpoint_auth_method "none").
	Public                            bool     `json:"-"`
	RedirectURIs                      []string `json:"redirect_uris"`
	PostLogoutRedirectURIs            []string `json:"post_logout_redirect_uris,omitempty"`
	BackChannelLogoutURI              string   `json:"backchannel_logout_uri,omitempty"`
	BackChannelLogoutSessionRequired  bool     `json:"backchannel_logout_session_required,omitempty"`
	FrontChannelLogoutURI             string   `json:"frontchannel_logout_uri,omitempty"`
	FrontChannelLogoutSessionRequired bool     `json:"frontchannel_logout_session_required,omitempty"`
	// TokenEndpointAuthMethod defaults to client_secret_basic (none with Public).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// IDTokenSignedResponseAlg defaults to RS256; ES256 is also available.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// scriptConfig is the JSON the provider scripts read.
type scriptConfig struct {
	Host    string       `json:"host"`
	Port    int          `json:"port"`
	Account string       `json:"account"`
	Logout  LogoutAnswer `json:"logout"`
	Clients []Client     `json:"clients"`
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Version == "" {
		o.Version = V9
	}
	if o.Version != V9 && o.Version != V6 {
		errs = append(errs, fmt.Errorf("oidcprovider: unknown Version %q", o.Version))
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Account == "" {
		o.Account = "alice"
	}
	if o.Logout == "" {
		o.Logout = LogoutAll
	}
	if o.Logout != LogoutAll && o.Logout != LogoutClient {
		errs = append(errs, fmt.Errorf("oidcprovider: unknown Logout %q", o.Logout))
	}
	clients := make([]Client, len(o.Clients))
	for i, c := range o.Clients {
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("oidcprovider: client %d has no ID", i))
		}
		if len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("oidcprovider: client %q has no RedirectURIs", c.ID))
		}
		if c.Public {
			if c.Secret != "" {
				errs = append(errs, fmt.Errorf("oidcprovider: public client %q has a Secret", c.ID))
			}
			c.TokenEndpointAuthMethod = "none"
		} else if c.Secret == "" {
			errs = append(errs, fmt.Errorf("oidcprovider: client %q needs a Secret or Public", c.ID))
		}
		clients[i] = c
	}
	o.Clients = clients
	return o, errors.Join(errs...)
}

// scriptJSON is the configuration argument of the provider script.
func (o Options) scriptJSON() ([]byte, error) {
	b, err := json.Marshal(scriptConfig{Host: o.Host, Port: 0, Account: o.Account, Logout: o.Logout, Clients: o.Clients})
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: encoding configuration: %w", err)
	}
	return b, nil
}
