package rp

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// MinJWKSRefresh is the least time between two JWKS fetches of a KeySet.
// A token with an unknown kid, or one that no cached key verifies, triggers
// at most one fetch in that window; concurrent callers share it.
const MinJWKSRefresh = 10 * time.Second

// maxJWKSFetch bounds one JWKS fetch, whatever the HTTP client's timeout.
const maxJWKSFetch = 30 * time.Second

// maxJWKSBytes bounds the JWKS response body.
const maxJWKSBytes = 1 << 20

// KeySet is the OP's JSON Web Key Set (jwks_uri), fetched on first use and
// cached. It verifies JWS signatures with the algorithms the Client is
// configured for (Config.SigningAlgs) and no others; "none" is never
// accepted. HS256/HS384/HS512 verify with the client secret (Core §10.1)
// and only when configured; symmetric keys published in the JWKS are
// ignored. Keys whose "use" is other than "sig" are ignored.
//
// When no cached key verifies a signature (an unknown kid after key
// rotation, or a failed verification), the set is fetched again, at most
// once per MinJWKSRefresh. A KeySet is safe for concurrent use and starts
// no goroutine except for a fetch in progress.
type KeySet struct {
	url     string
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	algs    []jose.SignatureAlgorithm
	hmacKey []byte

	mu       sync.RWMutex
	keys     []publicKey // replaced, never modified in place
	fetched  time.Time   // start of the last fetch; zero if none
	inflight *fetch
}

// publicKey is one usable verification key of the JWKS.
type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm // "" if the JWK names none
	key any                     // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// fetch is a JWKS request that several goroutines wait for.
type fetch struct {
	done chan struct{}
	keys []publicKey
	err  error
}

func newKeySet(jwksURL string, cfg Config) *KeySet {
	k := &KeySet{
		url:    jwksURL,
		client: cfg.HTTPClient,
		now:    cfg.Now,
		log:    cfg.Logger,
	}
	for _, a := range cfg.SigningAlgs {
		k.algs = append(k.algs, jose.SignatureAlgorithm(a))
		if isHMAC(a) {
			k.hmacKey = []byte(cfg.ClientSecret)
		}
	}
	return k
}

// Parse parses a JWS in compact serialization, accepting only the key
// set's algorithms. Pass the result to Verify.
func (k *KeySet) Parse(raw string) (*jose.JSONWebSignature, error) {
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("rp: malformed JWS: %w", err)
	}
	return jws, nil
}

// VerifySignature parses a compact JWS (accepting only the configured
// algorithms), verifies its signature with Verify and returns the payload.
// It implements go-oidc's oidc.KeySet. It checks no claims.
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := k.Parse(jwt)
	if err != nil {
		return nil, err
	}
	return k.Verify(ctx, jws)
}

// Verify verifies the single signature of an already parsed JWS and returns
// its payload. The algorithm, taken from the protected header, must be one
// of the configured ones. Keys are chosen by kid; without a kid every key
// fitting the algorithm is tried. It checks no claims.
func (k *KeySet) Verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if jws == nil || len(jws.Signatures) != 1 {
		return nil, errors.New("rp: JWS must have exactly one signature")
	}
	sig := &jws.Signatures[0]
	alg := jose.SignatureAlgorithm(sig.Protected.Algorithm)
	if alg == "" || alg != jose.SignatureAlgorithm(sig.Header.Algorithm) {
		return nil, errors.New("rp: JWS algorithm must be in the protected header")
	}
	if !slices.Contains(k.algs, alg) { // never "none": New refuses it
		return nil, fmt.Errorf("rp: JWS algorithm %q not allowed", alg)
	}
	if isHMAC(string(alg)) {
		payload, err := jws.Verify(k.hmacKey)
		if err != nil {
			return nil, fmt.Errorf("rp: JWS signature: %w", err)
		}
		return payload, nil
	}
	kid := sig.Protected.KeyID

	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	if payload, ok := verifyWith(jws, keys, kid, alg); ok {
		return payload, nil
	}

	fresh, err := k.refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("rp: fetching JWKS: %w", err)
	}
	// Retry only if the key list changed (a rate-limited refresh may hand
	// back the very slice already tried).
	if len(fresh) > 0 && (len(keys) == 0 || &fresh[0] != &keys[0]) {
		if payload, ok := verifyWith(jws, fresh, kid, alg); ok {
			return payload, nil
		}
	}
	if kid != "" && !slices.ContainsFunc(fresh, func(p publicKey) bool { return p.kid == kid }) {
		return nil, fmt.Errorf("rp: JWS signature: no key with kid %q", kid)
	}
	return nil, errors.New("rp: JWS signature: no key verifies it")
}

// verifyWith tries the keys that match kid and alg.
func verifyWith(jws *jose.JSONWebSignature, keys []publicKey, kid string, alg jose.SignatureAlgorithm) ([]byte, bool) {
	for i := range keys {
		pk := &keys[i]
		if kid != "" && pk.kid != kid {
			continue
		}
		if !pk.fits(alg) {
			continue
		}
		if payload, err := jws.Verify(pk.key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// fits reports whether the key can verify signatures made with alg.
func (pk *publicKey) fits(alg jose.SignatureAlgorithm) bool {
	if pk.alg != "" && pk.alg != alg {
		return false
	}
	switch key := pk.key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return key.Curve == elliptic.P256()
		case jose.ES384:
			return key.Curve == elliptic.P384()
		case jose.ES512:
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// refresh fetches the JWKS unless a fetch started less than MinJWKSRefresh
// ago, in which case it returns the cached keys. Concurrent callers share
// one fetch.
func (k *KeySet) refresh(ctx context.Context) ([]publicKey, error) {
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		if !k.fetched.IsZero() && k.now().Sub(k.fetched) < MinJWKSRefresh {
			keys := k.keys
			k.mu.Unlock()
			return keys, nil
		}
		k.fetched = k.now()
		f = &fetch{done: make(chan struct{})}
		k.inflight = f
		// The fetch outlives a caller that gives up, since others may wait
		// for it, but not forever: a stuck fetch would block every refetch.
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxJWKSFetch)
			defer cancel()
			k.run(fctx, f)
		}()
	}
	k.mu.Unlock()

	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-f.done:
		return f.keys, f.err
	}
}

func (k *KeySet) run(ctx context.Context, f *fetch) {
	keys, err := k.download(ctx)
	if err != nil {
		k.log.ErrorContext(ctx, "rp: JWKS fetch failed", "jwks_uri", k.url, "err", err)
	}
	k.mu.Lock()
	if err == nil {
		k.keys = keys
	} else {
		keys = k.keys
	}
	k.inflight = nil
	k.mu.Unlock()
	f.keys, f.err = keys, err
	close(f.done)
}

func (k *KeySet) download(ctx context.Context) ([]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %s", k.url, resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("%s: JWKS larger than %d bytes", k.url, maxJWKSBytes)
	}
	return parseJWKS(body)
}

// parseJWKS returns the usable signature verification keys of a JWK Set.
// Keys of unknown types or algorithms, symmetric keys and keys whose use is
// not "sig" are skipped (RFC 7517 §5).
func parseJWKS(body []byte) ([]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	var keys []publicKey
	for _, raw := range set.Keys {
		var meta struct {
			Alg string `json:"alg"`
			Use string `json:"use"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("decoding JWKS: %w", err)
		}
		if meta.Use != "" && meta.Use != "sig" {
			continue
		}
		if meta.Alg != "" && (!knownSigningAlg(meta.Alg) || isHMAC(meta.Alg)) {
			continue
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(raw, &jwk); err != nil {
			continue // unsupported or malformed key: ignore it, keep the rest
		}
		pk := publicKey{kid: jwk.KeyID, alg: jose.SignatureAlgorithm(jwk.Algorithm)}
		switch key := jwk.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			pk.key = key
		case *rsa.PrivateKey:
			pk.key = &key.PublicKey
		case *ecdsa.PrivateKey:
			pk.key = &key.PublicKey
		case ed25519.PrivateKey:
			pk.key = key.Public()
		default:
			continue // symmetric keys are never taken from a JWKS
		}
		keys = append(keys, pk)
	}
	return keys, nil
}

var signingAlgs = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512",
}

func knownSigningAlg(alg string) bool { return slices.Contains(signingAlgs, alg) }

func isHMAC(alg string) bool { return hmacKeySize(alg) > 0 }

// hmacKeySize is the least key size in bytes for an HS algorithm, or 0.
func hmacKeySize(alg string) int {
	switch alg {
	case "HS256":
		return 32
	case "HS384":
		return 48
	case "HS512":
		return 64
	}
	return 0
}
