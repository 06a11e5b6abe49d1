package testop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// grant is what an access or refresh token stands for.
type grant struct {
	clientID  string
	sub       string
	sid       string
	sessionID string
	scope     string
	authTime  time.Time
	acr       string
	expires   time.Time // access tokens only
}

// SetIDTokenHook makes fn edit the claims and JOSE header of every ID token
// the token endpoint issues from now on (nil removes it), so tests can
// issue tokens with a wrong aud, iss, azp or nonce, expired ones, or a
// lying alg header. The claims map holds the claims about to be signed;
// the header map starts empty and its entries override the defaults (alg,
// kid, typ); a nil value removes a default.
func (op *OP) SetIDTokenHook(fn func(claims, header map[string]any)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.idTokenHook = fn
}

// SetIDTokenSignOptions makes the token endpoint sign ID tokens with opts
// from now on (none restores the default), e.g. WithKey(op.ForeignKey()) to
// sign with a key that is not in the JWKS.
func (op *OP) SetIDTokenSignOptions(opts ...SignOption) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.idTokenOpts = opts
}

// Revoked reports whether token was revoked at the revocation endpoint.
func (op *OP) Revoked(token string) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.revoked[token]
}

type tokenError struct {
	status int
	code   string
	desc   string
}

func (op *OP) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, &tokenError{http.StatusBadRequest, "invalid_request", "malformed body"})
		return
	}
	c, terr := op.authenticateClient(w, r)
	if terr != nil {
		writeTokenError(w, terr)
		return
	}
	var g *grant
	var nonce string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		g, nonce, terr = op.redeemCode(c, r.PostForm)
	case "refresh_token":
		g, terr = op.redeemRefresh(c, r.PostForm)
	default:
		terr = &tokenError{http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"}
	}
	if terr != nil {
		writeTokenError(w, terr)
		return
	}
	resp, err := op.issueTokens(c, g, nonce)
	if err != nil {
		op.logError(r.Context(), "sign ID token", err)
		writeTokenError(w, &tokenError{http.StatusInternalServerError, "server_error", "could not sign the ID token"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // client went away
}

// authenticateClient applies client_secret_basic, client_secret_post or,
// for public clients, none (RFC 6749 §2.3.1).
func (op *OP) authenticateClient(w http.ResponseWriter, r *http.Request) (Client, *tokenError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || r.PostForm.Get("client_secret") != "" {
			return Client{}, &tokenError{http.StatusBadRequest, "invalid_request", "malformed client credentials"}
		}
		if form := r.PostForm.Get("client_id"); form != "" && form != id {
			return Client{}, &tokenError{http.StatusBadRequest, "invalid_request", "client_id mismatch"}
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := op.client(id)
	bad := &tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	if basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="testop"`)
	}
	switch {
	case !ok:
		return Client{}, bad
	case c.Secret == "":
		if secret != "" || basic {
			return Client{}, bad
		}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1:
		return Client{}, bad
	}
	return c, nil
}

func (op *OP) redeemCode(c Client, f url.Values) (*grant, string, *tokenError) {
	invalid := func(desc string) *tokenError { return &tokenError{http.StatusBadRequest, "invalid_grant", desc} }
	op.mu.Lock()
	defer op.mu.Unlock()
	code, ok := op.codes[f.Get("code")]
	if !ok {
		return nil, "", invalid("unknown or used code")
	}
	delete(op.codes, f.Get("code")) // single use, even when the request fails
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case code.clientID != c.ID:
		return nil, "", invalid("code was issued to another client")
	case op.cfg.Now().After(code.expires):
		return nil, "", invalid("code expired")
	case f.Get("redirect_uri") != code.redirectURI:
		return nil, "", invalid("redirect_uri mismatch")
	case f.Get("code_verifier") == "":
		return nil, "", &tokenError{http.StatusBadRequest, "invalid_request", "code_verifier is required"}
	case base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge:
		return nil, "", invalid("PKCE verification failed")
	case op.sessions[code.sessionID] == nil:
		return nil, "", invalid("the OP session has ended")
	}
	return &grant{clientID: c.ID, sub: code.sub, sid: code.sid, sessionID: code.sessionID,
		scope: code.scope, authTime: code.authTime, acr: code.acr}, code.nonce, nil
}

// redeemRefresh consumes a refresh token; a new one is issued (rotation).
func (op *OP) redeemRefresh(c Client, f url.Values) (*grant, *tokenError) {
	op.mu.Lock()
	defer op.mu.Unlock()
	rt := f.Get("refresh_token")
	g, ok := op.refresh[rt]
	if !ok || g.clientID != c.ID || op.revoked[rt] {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "unknown, used or revoked refresh token"}
	}
	delete(op.refresh, rt)
	if op.sessions[g.sessionID] == nil && !strings.Contains(" "+g.scope+" ", " offline_access ") {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "the OP session has ended"}
	}
	return g, nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope,omitempty"`
}

func (op *OP) issueTokens(c Client, g *grant, nonce string) (*tokenResponse, error) {
	now := op.cfg.Now()
	claims := map[string]any{
		"iss":       op.cfg.Issuer,
		"sub":       g.sub,
		"aud":       c.ID,
		"azp":       c.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(op.cfg.IDTokenTTL).Unix(),
		"auth_time": g.authTime.Unix(),
		"sid":       g.sid,
	}
	if g.acr != "" {
		claims["acr"] = g.acr
	}
	for k, v := range op.profile(g.sub) {
		claims[k] = v
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	header := map[string]any{}
	op.mu.Lock()
	hook, opts := op.idTokenHook, op.idTokenOpts
	op.mu.Unlock()
	if hook != nil {
		hook(claims, header)
	}
	opts = append([]SignOption{WithAlg(c.alg())}, opts...)
	for k, v := range header {
		opts = append(opts, WithHeader(k, v))
	}
	idt, err := op.sign(claims, "JWT", opts)
	if err != nil {
		return nil, err
	}
	at, rt := rand.Text(), rand.Text()
	access := *g
	access.expires = now.Add(op.cfg.AccessTokenTTL)
	refresh := *g
	op.mu.Lock()
	op.access[at] = &access
	op.refresh[rt] = &refresh
	op.mu.Unlock()
	return &tokenResponse{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(op.cfg.AccessTokenTTL / time.Second),
		RefreshToken: rt, IDToken: idt, Scope: g.scope,
	}, nil
}

func writeTokenError(w http.ResponseWriter, e *tokenError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.desc}) //nolint:errcheck
}

// handleRevoke is the RFC 7009 revocation endpoint. It answers 200 for any
// token, known or not, and records it for Revoked.
func (op *OP) handleRevoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, &tokenError{http.StatusBadRequest, "invalid_request", "malformed body"})
		return
	}
	if _, terr := op.authenticateClient(w, r); terr != nil {
		writeTokenError(w, terr)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeTokenError(w, &tokenError{http.StatusBadRequest, "invalid_request", "token is required"})
		return
	}
	op.mu.Lock()
	op.revoked[tok] = true
	delete(op.refresh, tok)
	delete(op.access, tok)
	op.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// handleUserinfo returns {"sub": ...} for a valid bearer access token.
func (op *OP) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	op.mu.Lock()
	g := op.access[tok]
	op.mu.Unlock()
	if !ok || g == nil || op.cfg.Now().After(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	claims := map[string]any{"sub": g.sub}
	for k, v := range op.profile(g.sub) {
		claims[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(claims) //nolint:errcheck
}
