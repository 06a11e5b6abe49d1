package testop

import (
	"encoding/json"
	"net/http"
)

// Discovery returns the OpenID Provider Metadata served at
// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3 plus
// the logout specifications' fields).
func (op *OP) Discovery() map[string]any {
	iss := op.cfg.Issuer
	m := map[string]any{
		"issuer":                                     iss,
		"authorization_endpoint":                     iss + PathAuthorize,
		"token_endpoint":                             iss + PathToken,
		"jwks_uri":                                   iss + PathJWKS,
		"userinfo_endpoint":                          iss + PathUserinfo,
		"revocation_endpoint":                        iss + PathRevoke,
		"scopes_supported":                           []string{"openid", "profile", "email", "offline_access"},
		"response_types_supported":                   []string{"code"},
		"response_modes_supported":                   []string{"query"},
		"grant_types_supported":                      []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                    []string{"public"},
		"id_token_signing_alg_values_supported":      []string{"RS256", "ES256", "HS256"},
		"code_challenge_methods_supported":           []string{"S256"},
		"token_endpoint_auth_methods_supported":      []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"claims_supported":                           []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "sid"},
		"frontchannel_logout_supported":              true,
		"frontchannel_logout_session_supported":      true,
		"backchannel_logout_supported":               true,
		"backchannel_logout_session_supported":       true,
	}
	if !op.cfg.NoIssParameter {
		m["authorization_response_iss_parameter_supported"] = true
	}
	if !op.cfg.NoEndSession {
		m["end_session_endpoint"] = iss + PathEndSession
	}
	if !op.cfg.NoCheckSession {
		m["check_session_iframe"] = iss + PathCheckSession
	}
	return m
}

func (op *OP) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(op.Discovery()); err != nil {
		op.logError(r.Context(), "write discovery", err)
	}
}
