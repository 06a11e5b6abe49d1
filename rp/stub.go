package rp

// THIS FILE IS A CONTRACT STUB. The rp helper replaces it with the real
// implementation spread over client.go, login.go, callback.go, verify.go,
// logout.go, keyset.go, refresh.go; the exported API below is fixed.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// AuthMethod is how the client authenticates at the token endpoint.
type AuthMethod string

// Client authentication methods.
const (
	AuthMethodBasic AuthMethod = "client_secret_basic"
	AuthMethodPost  AuthMethod = "client_secret_post"
	AuthMethodNone  AuthMethod = "none"
)

// Config configures a Client.
type Config struct {
	Issuer                string
	ClientID              string
	ClientSecret          string
	AuthMethod            AuthMethod
	RedirectURL           string
	PostLogoutRedirectURL string
	Scopes                []string
	SigningAlgs           []string
	DecryptionKeys        []jose.JSONWebKey
	EndSessionURL         string
	ClockSkew             time.Duration
	HTTPClient            *http.Client
	Now                   func() time.Time
	Logger                *slog.Logger
}

// Metadata is what discovery said about the OP.
type Metadata struct {
	Issuer                                     string
	AuthorizationEndpoint                      string
	TokenEndpoint                              string
	JWKSURL                                    string
	EndSessionEndpoint                         string
	CheckSessionIframe                         string
	RevocationEndpoint                         string
	FrontChannelLogoutSupported                bool
	FrontChannelLogoutSessionSupported         bool
	BackChannelLogoutSupported                 bool
	BackChannelLogoutSessionSupported          bool
	AuthorizationResponseIssParameterSupported bool
	IDTokenSigningAlgValuesSupported           []string
}

// Client is an OpenID Connect relying party for one OP.
type Client struct{}

// New runs discovery and returns a Client.
func New(ctx context.Context, cfg Config) (*Client, error) { panic("stub") }

func (c *Client) Issuer() string                     { panic("stub") }
func (c *Client) ClientID() string                   { panic("stub") }
func (c *Client) Config() Config                     { panic("stub") }
func (c *Client) Metadata() Metadata                 { panic("stub") }
func (c *Client) Keys() *KeySet                      { panic("stub") }
func (c *Client) EncryptionRequired() bool           { panic("stub") }
func (c *Client) Decrypt(raw string) (string, error) { panic("stub") }

// AuthOption adds a parameter to one authorization request.
type AuthOption struct{ key, value string }

func Param(key, value string) AuthOption { return AuthOption{key, value} }
func Prompt(v string) AuthOption         { return Param("prompt", v) }
func LoginHint(v string) AuthOption      { return Param("login_hint", v) }
func ACRValues(v string) AuthOption      { return Param("acr_values", v) }
func IDTokenHint(v string) AuthOption    { return Param("id_token_hint", v) }

// LoginState is what the RP must keep, bound to the browser, between the
// authorization request and the callback.
type LoginState struct {
	Issuer       string    `json:"iss"`
	State        string    `json:"state"`
	Nonce        string    `json:"nonce"`
	CodeVerifier string    `json:"cv"`
	CreatedAt    time.Time `json:"at"`
}

func (c *Client) Login(opts ...AuthOption) (string, *LoginState, error) { panic("stub") }

// AuthError is an error response from the OP's authorization endpoint.
type AuthError struct {
	Code         string
	Description  string
	URI          string
	SessionState string
}

func (e *AuthError) Error() string { return "rp: authorization error: " + e.Code }

var (
	ErrState                = errors.New("rp: state missing or mismatched")
	ErrIssuer               = errors.New("rp: authorization response iss mismatch")
	ErrInvalidIDToken       = errors.New("rp: invalid ID token")
	ErrNoEndSessionEndpoint = errors.New("rp: OP has no end_session_endpoint")
	ErrNoRevocationEndpoint = errors.New("rp: OP has no revocation_endpoint")
)

// Result is the outcome of a successful login or refresh.
type Result struct {
	Issuer       string
	Subject      string
	SID          string
	SessionState string
	RawIDToken   string
	IDToken      *oidc.IDToken
	Token        *oauth2.Token
}

func (c *Client) Callback(ctx context.Context, params url.Values, st *LoginState) (*Result, error) {
	panic("stub")
}
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*oidc.IDToken, error) {
	panic("stub")
}
func (c *Client) Refresh(ctx context.Context, refreshToken, subject string) (*Result, error) {
	panic("stub")
}
func (c *Client) Revoke(ctx context.Context, token, tokenTypeHint string) error { panic("stub") }

// LogoutParams are the parameters of an RP-initiated logout request.
type LogoutParams struct {
	IDTokenHint           string
	LogoutHint            string
	PostLogoutRedirectURL string
	State                 string
	UILocales             string
}

func (c *Client) EndSessionURL(p LogoutParams) (string, error) { panic("stub") }
func (c *Client) WriteEndSessionForm(w http.ResponseWriter, p LogoutParams) error {
	panic("stub")
}

// KeySet is a cached remote JWKS.
type KeySet struct{}

func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) { panic("stub") }
func (k *KeySet) Verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	panic("stub")
}
