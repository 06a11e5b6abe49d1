package rp

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/internal/jwtclaims"
)

// idClaims are the claims read exactly from a verified ID token, with the
// scanner that reads logout tokens.
type idClaims struct {
	Subject string
	SID     string
}

// VerifyIDToken validates an ID token as OpenID Connect Core 1.0 §3.1.3.7
// requires and returns it:
//
//  1. if Config.DecryptionKeys is set, the token must be a JWE and is
//     decrypted first; otherwise a JWE is refused;
//  2. the signature is checked with Keys, using only Config.SigningAlgs;
//  3. iss must equal the issuer exactly; aud must contain the client id;
//     with several audiences azp must be present; azp, if present, must be
//     the client id;
//  4. exp must not have passed and iat must not be in the future, each
//     with Config.ClockSkew leeway; sub and iat must be present;
//  5. the nonce claim must equal nonce (constant-time compare). An empty
//     nonce skips this check, as for ID tokens from a refresh (Core §12.2);
//  6. a logout token is never accepted as an ID token: typ logout+jwt and
//     any events claim are refused (cross-JWT confusion, RFC 8725 §3.11);
//  7. the claims iss, sub, sid, aud, azp, iat, exp, nbf, jti, events and
//     nonce must each appear at most once, with no other member whose name
//     matches it case-insensitively or by Unicode simple folding ("SID",
//     "ſid" for sid), and their values must be valid UTF-8, as written and
//     once unescaped (RFC 8259 §8.1: an escaped lone surrogate such as
//     \ud800 is refused too). encoding/json, which go-oidc and
//     [oidc.IDToken.Claims] use, would take the last of such members and
//     turn invalid UTF-8 into U+FFFD; refusing them makes every reader of
//     the token agree. sid, when present, must be a string.
//
// [Client.Callback] and [Client.Refresh] read sub and sid exactly, with the
// reader the logout package uses for logout tokens, so that a session is
// stored under the values a logout names.
//
// Every failure wraps ErrInvalidIDToken; an expired token also wraps
// *oidc.TokenExpiredError.
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*oidc.IDToken, error) {
	tok, _, err := c.verifyIDToken(ctx, raw, nonce)
	return tok, err
}

func invalid(reason string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrInvalidIDToken, reason)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidIDToken, reason, err)
}

// verifyIDToken is VerifyIDToken; it also returns sub and sid, read exactly.
func (c *Client) verifyIDToken(ctx context.Context, raw, nonce string) (*oidc.IDToken, *idClaims, error) {
	if raw == "" {
		return nil, nil, invalid("empty", nil)
	}
	// Before discovery the OP's keys are unknown: say so, rather than
	// "invalid" (go-oidc would hide the reason).
	if _, err := c.provider(ctx); err != nil {
		return nil, nil, err
	}
	if c.EncryptionRequired() {
		jws, err := c.Decrypt(raw)
		if err != nil {
			return nil, nil, invalid("decryption", err)
		}
		raw = jws
	} else if strings.Count(raw, ".") == 4 {
		return nil, nil, invalid("encrypted, but no DecryptionKeys are configured", nil)
	}

	// Only the header is read here; go-oidc's Verify parses and checks
	// the whole token next.
	if typ, err := headerTyp(raw); err != nil {
		return nil, nil, invalid("malformed", err)
	} else if typ == "logout+jwt" || typ == "application/logout+jwt" {
		return nil, nil, invalid("typ "+typ+" is a logout token", nil)
	}

	tok, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, invalid("verification", err)
	}
	// The verified payload, byte for byte (encoding/json copies a
	// RawMessage as it is).
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return nil, nil, invalid("claims", err)
	}
	cl, err := c.checkClaims(tok, payload, nonce)
	if err != nil {
		return nil, nil, err
	}
	return tok, cl, nil
}

// checkClaims reads the claims slo checks from the verified payload and
// does the checks of VerifyIDToken that go-oidc does not.
func (c *Client) checkClaims(tok *oidc.IDToken, payload []byte, nonce string) (*idClaims, error) {
	rc, err := jwtclaims.Parse(payload)
	if err != nil {
		return nil, invalid("claims", err)
	}
	if rc.Events != nil {
		return nil, invalid("events claim: a logout token is not an ID token", nil)
	}
	var cl idClaims
	var ok bool
	if cl.Subject, ok = jwtclaims.String(rc.Sub); !ok || cl.Subject == "" {
		return nil, invalid("sub missing, empty or not a string", nil)
	}
	if rc.SID != nil {
		if cl.SID, ok = jwtclaims.String(rc.SID); !ok {
			return nil, invalid("sid is not a string", nil)
		}
	}
	if len(tok.Audience) > 1 && rc.AZP == nil {
		return nil, invalid("several audiences but no azp", nil)
	}
	if rc.AZP != nil {
		azp, ok := jwtclaims.String(rc.AZP)
		if !ok {
			return nil, invalid("azp is not a string", nil)
		}
		if azp != c.cfg.ClientID {
			return nil, invalid(fmt.Sprintf("azp %q is not the client id", azp), nil)
		}
	}
	if rc.IAT == nil {
		return nil, invalid("iat missing", nil)
	}
	if tok.IssuedAt.After(c.now().Add(c.cfg.ClockSkew)) {
		return nil, invalid("iat is in the future", nil)
	}
	if nonce != "" {
		n, ok := jwtclaims.String(rc.Nonce)
		if !ok || subtle.ConstantTimeCompare([]byte(n), []byte(nonce)) != 1 {
			return nil, invalid("nonce mismatch", nil)
		}
	}
	return &cl, nil
}

// JWE algorithms accepted for encrypted ID tokens. RSA1_5 is left out
// (padding oracle); symmetric key wrapping with the client secret
// (Core §10.2) is not supported.
var (
	jweKeyAlgs = []jose.KeyAlgorithm{
		jose.RSA_OAEP, jose.RSA_OAEP_256,
		jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW,
	}
	jweContentEncs = []jose.ContentEncryption{
		jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512,
		jose.A128GCM, jose.A192GCM, jose.A256GCM,
	}
)

// Decrypt decrypts a compact JWE (an encrypted ID token) with
// Config.DecryptionKeys and returns the nested compact JWS. Keys are chosen
// by kid, or all are tried when the JWE names none. It verifies nothing
// about the JWS.
func (c *Client) Decrypt(raw string) (string, error) {
	if !c.EncryptionRequired() {
		return "", errors.New("rp: no DecryptionKeys configured")
	}
	jwe, err := jose.ParseEncryptedCompact(raw, jweKeyAlgs, jweContentEncs)
	if err != nil {
		return "", fmt.Errorf("rp: malformed JWE: %w", err)
	}
	kid := jwe.Header.KeyID
	for i := range c.cfg.DecryptionKeys {
		k := &c.cfg.DecryptionKeys[i]
		if kid != "" && k.KeyID != "" && k.KeyID != kid {
			continue
		}
		if k.Use != "" && k.Use != "enc" {
			continue
		}
		payload, err := jwe.Decrypt(k.Key)
		if err == nil {
			return string(payload), nil
		}
	}
	return "", errors.New("rp: no decryption key fits the JWE")
}

// headerTyp returns the lower-cased typ header of a compact JWS, "" if it
// has none, decoding only the header segment.
func headerTyp(raw string) (string, error) {
	seg, _, ok := strings.Cut(raw, ".")
	if !ok {
		return "", errors.New("rp: not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", fmt.Errorf("rp: JWS header: %w", err)
	}
	var h struct {
		Typ *string `json:"typ"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("rp: JWS header: %w", err)
	}
	if h.Typ == nil {
		return "", nil
	}
	return strings.ToLower(*h.Typ), nil
}
