package middleware

import (
	"encoding/json"
	"net/http"
)

// Registration is the client metadata an operator registers at the OP
// (OpenID Connect Dynamic Client Registration names), as served by
// MetadataHandler.
type Registration struct {
	ClientID                          string   `json:"client_id"`
	RedirectURIs                      []string `json:"redirect_uris"`
	PostLogoutRedirectURIs            []string `json:"post_logout_redirect_uris,omitempty"`
	FrontChannelLogoutURI             string   `json:"frontchannel_logout_uri"`
	FrontChannelLogoutSessionRequired bool     `json:"frontchannel_logout_session_required"`
	BackChannelLogoutURI              string   `json:"backchannel_logout_uri"`
	BackChannelLogoutSessionRequired  bool     `json:"backchannel_logout_session_required"`
	GrantTypes                        []string `json:"grant_types"`
	ResponseTypes                     []string `json:"response_types"`
	TokenEndpointAuthMethod           string   `json:"token_endpoint_auth_method"`
	IDTokenSignedResponseAlg          string   `json:"id_token_signed_response_alg"`
}

// Registration returns the metadata to register this application with the
// OP: its redirect and post-logout URIs and its front- and back-channel
// logout URIs, which share the redirect URI's origin as Front-Channel
// Logout 1.0 §2 requires, with sid required on both channels (on the front
// channel unless Config.FrontChannel.AllowCookieLogout is set).
func (a *Auth) Registration() Registration {
	rc := a.client.Config()
	reg := Registration{
		ClientID:                          rc.ClientID,
		RedirectURIs:                      []string{rc.RedirectURL},
		FrontChannelLogoutURI:             a.origin + a.paths.frontChannel,
		FrontChannelLogoutSessionRequired: !a.cookieLogout,
		BackChannelLogoutURI:              a.origin + a.paths.backChannel,
		BackChannelLogoutSessionRequired:  true,
		GrantTypes:                        []string{"authorization_code", "refresh_token"},
		ResponseTypes:                     []string{"code"},
		TokenEndpointAuthMethod:           string(rc.AuthMethod),
		IDTokenSignedResponseAlg:          "RS256",
	}
	if rc.PostLogoutRedirectURL != "" {
		reg.PostLogoutRedirectURIs = []string{rc.PostLogoutRedirectURL}
	}
	if len(rc.SigningAlgs) > 0 {
		reg.IDTokenSignedResponseAlg = rc.SigningAlgs[0]
	}
	return reg
}

// MetadataHandler returns a handler that serves Registration as JSON, for
// an operator to paste into the OP's client registration.
func (a *Auth) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(a.Registration())
	})
}
