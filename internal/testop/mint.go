package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// BackChannelLogoutEvent is the events member that marks a logout token.
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// SignOption changes how SignIDToken, SignLogoutToken or the token endpoint
// (SetIDTokenSignOptions) sign a token.
type SignOption func(*signSettings)

type signSettings struct {
	alg    string
	key    any
	header map[string]any
	noKID  bool
	enc    *encSettings
}

type encSettings struct {
	recipient any
	alg       jose.KeyAlgorithm
	enc       jose.ContentEncryption
}

// WithAlg signs with alg: "RS256" or "ES256" (the OP's current published
// key unless WithKey), "HS256" (the audience client's secret unless
// WithKey gives a []byte), or "none" (unsigned, empty signature).
func WithAlg(alg string) SignOption { return func(s *signSettings) { s.alg = alg } }

// WithKey signs with key: a jose.JSONWebKey (its KeyID becomes the kid), an
// *rsa.PrivateKey, an *ecdsa.PrivateKey (P-256) or a []byte HMAC secret.
// Without WithAlg the algorithm follows the key type.
func WithKey(key any) SignOption { return func(s *signSettings) { s.key = key } }

// WithHeader sets a JOSE header parameter (typ, crit, jku, jwk, kid, even
// alg: the header then lies about the signing algorithm). A nil value
// removes the parameter.
func WithHeader(name string, value any) SignOption {
	return func(s *signSettings) {
		if s.header == nil {
			s.header = map[string]any{}
		}
		s.header[name] = value
	}
}

// WithoutKID omits the kid header.
func WithoutKID() SignOption { return func(s *signSettings) { s.noKID = true } }

// WithEncryption wraps the signed token in a compact JWE for recipient (a
// public key or jose.JSONWebKey) with the given key-management and content
// algorithms, cty "JWT" and the iss replicated in the header.
func WithEncryption(recipient any, alg jose.KeyAlgorithm, enc jose.ContentEncryption) SignOption {
	return func(s *signSettings) { s.enc = &encSettings{recipient: recipient, alg: alg, enc: enc} }
}

// SignIDToken signs claims as an ID token. By default it uses the signing
// algorithm registered for the client named in aud (RS256 if unknown), the
// OP's current key and typ "JWT". It panics on misuse (an unusable key).
func (op *OP) SignIDToken(claims map[string]any, opts ...SignOption) string {
	tok, err := op.sign(claims, "JWT", opts)
	if err != nil {
		panic(err)
	}
	return tok
}

// SignLogoutToken signs claims as a logout token: like SignIDToken, with typ
// "logout+jwt". It panics on misuse.
func (op *OP) SignLogoutToken(claims map[string]any, opts ...SignOption) string {
	tok, err := op.sign(claims, "logout+jwt", opts)
	if err != nil {
		panic(err)
	}
	return tok
}

// LogoutClaims returns the claims of a valid logout token (Back-Channel
// Logout 1.0 with errata 1) for clientID: iss, aud, iat, exp, a random jti,
// events, and sub and sid when non-empty.
func (op *OP) LogoutClaims(clientID, sub, sid string) map[string]any {
	now := op.cfg.Now()
	c := map[string]any{
		"iss":    op.cfg.Issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(op.cfg.LogoutTokenTTL).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{BackChannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// sign builds a compact JWS (optionally inside a JWE). It signs by hand
// rather than through go-jose so that tests can put anything in the header.
func (op *OP) sign(claims map[string]any, typ string, opts []SignOption) (string, error) {
	var s signSettings
	for _, o := range opts {
		o(&s)
	}
	audClient, _ := op.client(firstAud(claims["aud"]))
	if s.alg == "" {
		switch k := s.key.(type) {
		case nil:
			s.alg = audClient.alg()
		case jose.JSONWebKey:
			s.alg = jwkAlg(k)
		case *jose.JSONWebKey:
			s.alg = jwkAlg(*k)
		case *rsa.PrivateKey:
			s.alg = "RS256"
		case *ecdsa.PrivateKey:
			s.alg = "ES256"
		case []byte:
			s.alg = "HS256"
		default:
			return "", fmt.Errorf("testop: unsupported key type %T", s.key)
		}
	}
	var kid string
	key := s.key
	switch k := key.(type) {
	case jose.JSONWebKey:
		kid, key = k.KeyID, k.Key
	case *jose.JSONWebKey:
		kid, key = k.KeyID, k.Key
	}
	if key == nil {
		switch s.alg {
		case "RS256", "ES256":
			sk, ok := op.keys.current(s.alg)
			if !ok {
				return "", fmt.Errorf("testop: no key for %s", s.alg)
			}
			kid, key = sk.kid, sk.key
		case "HS256":
			if audClient.Secret == "" {
				return "", errors.New("testop: HS256 without WithKey needs aud to name a client with a secret")
			}
			key = []byte(audClient.Secret)
		}
	}
	header := map[string]any{"alg": s.alg, "typ": typ}
	if kid != "" && !s.noKID {
		header["kid"] = kid
	}
	for k, v := range s.header {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("testop: header: %w", err)
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("testop: claims: %w", err)
	}
	input := b64(hb) + "." + b64(pb)
	sig, err := signBytes(s.alg, key, []byte(input))
	if err != nil {
		return "", err
	}
	jws := input + "." + b64(sig)
	if s.enc == nil {
		return jws, nil
	}
	eopts := (&jose.EncrypterOptions{}).WithContentType("JWT").WithHeader("iss", op.cfg.Issuer)
	enc, err := jose.NewEncrypter(s.enc.enc, jose.Recipient{Algorithm: s.enc.alg, Key: s.enc.recipient}, eopts)
	if err != nil {
		return "", fmt.Errorf("testop: encrypter: %w", err)
	}
	obj, err := enc.Encrypt([]byte(jws))
	if err != nil {
		return "", fmt.Errorf("testop: encrypt: %w", err)
	}
	return obj.CompactSerialize()
}

func signBytes(alg string, key any, input []byte) ([]byte, error) {
	h := sha256.Sum256(input)
	switch alg {
	case "none":
		return nil, nil
	case "RS256":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: RS256 needs *rsa.PrivateKey, got %T", key)
		}
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	case "ES256":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: ES256 needs *ecdsa.PrivateKey, got %T", key)
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			return nil, fmt.Errorf("testop: ES256: %w", err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case "HS256":
		k, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("testop: HS256 needs a []byte secret, got %T", key)
		}
		m := hmac.New(sha256.New, k)
		m.Write(input)
		return m.Sum(nil), nil
	}
	return nil, fmt.Errorf("testop: unsupported alg %q", alg)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwkAlg(k jose.JSONWebKey) string {
	if k.Algorithm != "" {
		return k.Algorithm
	}
	switch k.Key.(type) {
	case *ecdsa.PrivateKey:
		return "ES256"
	case []byte:
		return "HS256"
	}
	return "RS256"
}

func firstAud(v any) string {
	switch a := v.(type) {
	case string:
		return a
	case []string:
		if len(a) > 0 {
			return a[0]
		}
	case []any:
		if len(a) > 0 {
			s, _ := a[0].(string)
			return s
		}
	}
	return ""
}
