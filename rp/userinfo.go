package rp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/oidc-slo/slo/internal/jwtclaims"
)

// MaxUserinfoBytes bounds the UserInfo response that Userinfo reads.
const MaxUserinfoBytes = 1 << 20

// Userinfo fetches the user's claims from the OP's UserInfo endpoint
// (OpenID Connect Core 1.0 §5.3) with the access token of a login, and
// returns them as the JSON object the OP sent.
//
// subject is the sub of that login's ID token. The response's sub must
// equal it exactly, or the claims are refused (Core §5.3.2: the UserInfo
// response may belong to another user, as after a token substitution).
// sub is read as ID tokens' is: repeated, case- or Unicode-folded aliases
// ("SUB") and invalid UTF-8 are refused.
//
// A JSON response (application/json) is used as it is. A signed response
// (application/jwt) is verified with the OP's keys and Config.SigningAlgs,
// and must carry iss, the issuer, and aud with the client id (Core
// §5.3.2); an encrypted one is decrypted with Config.DecryptionKeys first,
// and refused without them. Its claims are the JWT's payload.
//
// It returns ErrNoUserinfoEndpoint if the OP advertises no
// userinfo_endpoint, and an error wrapping ErrInvalidUserinfo if the
// response is not a valid UserInfo response for subject.
func (c *Client) Userinfo(ctx context.Context, accessToken, subject string) (json.RawMessage, error) {
	if accessToken == "" {
		return nil, errors.New("rp: userinfo: no access token")
	}
	if subject == "" {
		return nil, errors.New("rp: userinfo: subject is required")
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	if p.meta.UserinfoEndpoint == "" {
		return nil, ErrNoUserinfoEndpoint
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.meta.UserinfoEndpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("rp: userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rp: userinfo: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxUserinfoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rp: userinfo: reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// RFC 6750 §3: the error code is in WWW-Authenticate; the body is
		// not echoed.
		code := bearerError(resp.Header.Get("WWW-Authenticate"))
		if code == "" {
			code = oauthErrorCode(body)
		}
		return nil, fmt.Errorf("rp: userinfo: status %s: %s", resp.Status, code)
	}
	if len(body) > MaxUserinfoBytes {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrInvalidUserinfo, MaxUserinfoBytes)
	}
	return c.userinfoClaims(ctx, resp.Header.Get("Content-Type"), body, subject)
}

// userinfoClaims checks a UserInfo response body of the given content type
// and returns its claims.
func (c *Client) userinfoClaims(ctx context.Context, contentType string, body []byte, subject string) (json.RawMessage, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: content type %q", ErrInvalidUserinfo, contentType)
	}
	var claims []byte
	switch mt {
	case "application/json":
		claims = body
	case "application/jwt":
		if claims, err = c.userinfoJWT(ctx, strings.TrimSpace(string(body))); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: content type %q is neither application/json nor application/jwt", ErrInvalidUserinfo, mt)
	}
	rc, err := jwtclaims.Parse(claims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserinfo, err)
	}
	sub, ok := jwtclaims.String(rc.Sub)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: sub missing or not a string", ErrInvalidUserinfo)
	case sub != subject:
		return nil, fmt.Errorf("%w: sub is not the ID token's", ErrInvalidUserinfo)
	}
	return json.RawMessage(claims), nil
}

// userinfoJWT verifies a signed (and maybe encrypted) UserInfo response and
// returns its payload.
func (c *Client) userinfoJWT(ctx context.Context, raw string) ([]byte, error) {
	if strings.Count(raw, ".") == 4 {
		if !c.EncryptionRequired() {
			return nil, fmt.Errorf("%w: encrypted, but no DecryptionKeys are configured", ErrInvalidUserinfo)
		}
		plain, err := c.Decrypt(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidUserinfo, err)
		}
		if strings.HasPrefix(strings.TrimSpace(plain), "{") {
			// Encrypted without a signature (Core §5.3.2 allows it).
			return []byte(plain), nil
		}
		raw = plain
	}
	if typ, err := headerTyp(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserinfo, err)
	} else if typ == "logout+jwt" || typ == "application/logout+jwt" {
		return nil, fmt.Errorf("%w: typ %s is a logout token", ErrInvalidUserinfo, typ)
	}
	payload, err := c.keys.VerifySignature(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserinfo, err)
	}
	rc, err := jwtclaims.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidUserinfo, err)
	}
	if iss, ok := jwtclaims.String(rc.Iss); !ok || iss != c.cfg.Issuer {
		return nil, fmt.Errorf("%w: signed response's iss is not the issuer", ErrInvalidUserinfo)
	}
	if aud, ok := jwtclaims.Audience(rc.Aud); !ok || !slices.Contains(aud, c.cfg.ClientID) {
		return nil, fmt.Errorf("%w: signed response's aud lacks the client id", ErrInvalidUserinfo)
	}
	if rc.Events != nil {
		return nil, fmt.Errorf("%w: events claim: a logout token is not a UserInfo response", ErrInvalidUserinfo)
	}
	return payload, nil
}

// bearerError returns the error code of a WWW-Authenticate: Bearer
// challenge (RFC 6750 §3), or "".
func bearerError(h string) string {
	scheme, params, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	for p := range strings.SplitSeq(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && k == "error" {
			v = strings.Trim(v, `"`)
			// Only the registered codes' characters (RFC 6750 §3): the
			// header is not echoed otherwise.
			if v != "" && !strings.ContainsFunc(v, func(r rune) bool { return !(r == '_' || 'a' <= r && r <= 'z') }) {
				return v
			}
		}
	}
	return ""
}
