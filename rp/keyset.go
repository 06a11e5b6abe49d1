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
	"math"
	"net/http"
	"slices"
	"strings"
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

// minJWKSMaxAge is the shortest time keys are trusted, whatever the JWKS
// response's Cache-Control says.
const minJWKSMaxAge = time.Minute

// KeySet is the OP's JSON Web Key Set (jwks_uri), fetched on first use and
// cached. It verifies JWS signatures with the algorithms the Client is
// configured for (Config.SigningAlgs) and no others; "none" is never
// accepted. HS256/HS384/HS512 verify with the client secret (Core §10.1)
// and only when configured; symmetric keys published in the JWKS are
// ignored. Keys whose "use" is other than "sig" are ignored.
//
// When no cached key verifies a signature (an unknown kid after key
// rotation, or a failed verification), the set is fetched again, at most
// once per MinJWKSRefresh. Cached keys are trusted for a maximum age: the
// response's Cache-Control max-age (less its Age header) between 1 minute
// and Config.JWKSMaxAge, or Config.JWKSMaxAge (default 24 h) without one,
// so keys the OP has removed stop verifying. The first verification after
// that age refetches the set. If that fetch fails, the old keys keep
// verifying for one more maximum age, each failed fetch logged at Error,
// and after that verification fails until a fetch succeeds: an OP whose
// JWKS is briefly unreachable does not stop logins and logouts, and one
// that stays unreachable cannot keep a removed key trusted.
//
// A KeySet is safe for concurrent use; concurrent callers share one fetch.
// It starts no goroutine except for a fetch in progress, which outlives a
// caller that gives up (for the others waiting) but no more than 30 s.
type KeySet struct {
	url     func(context.Context) (string, error) // jwks_uri, once discovered
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	algs    []jose.SignatureAlgorithm
	hmacKey []byte
	maxAge  time.Duration

	mu       sync.RWMutex
	keys     []publicKey // replaced, never modified in place
	fresh    time.Time   // keys are trusted until then
	stale    time.Time   // and, when refetching fails, used until then
	fetched  time.Time   // start of the last fetch; zero if none
	lastErr  error       // error of the last fetch, nil if it succeeded
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

func newKeySet(jwksURL func(context.Context) (string, error), cfg Config) *KeySet {
	k := &KeySet{
		url:    jwksURL,
		client: cfg.HTTPClient,
		now:    cfg.Now,
		log:    cfg.Logger,
		maxAge: cfg.JWKSMaxAge,
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
	keys, fresh := k.keys, k.fresh
	k.mu.RUnlock()
	tried := k.now().Before(fresh)
	if tried {
		if payload, ok := verifyWith(jws, keys, kid, alg); ok {
			return payload, nil
		}
	}

	usable, err := k.refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("rp: fetching JWKS: %w", err)
	}
	// Retry unless the very keys already tried came back (a rate-limited
	// refresh, or a failed one within the grace period).
	if !tried || !sameKeys(usable, keys) {
		if payload, ok := verifyWith(jws, usable, kid, alg); ok {
			return payload, nil
		}
	}
	if kid != "" && !slices.ContainsFunc(usable, func(p publicKey) bool { return p.kid == kid }) {
		return nil, fmt.Errorf("rp: JWS signature: no key with kid %q", kid)
	}
	return nil, errors.New("rp: JWS signature: no key verifies it")
}

// sameKeys reports whether a and b are the same cached key list.
func sameKeys(a, b []publicKey) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
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
// ago, and returns the keys to verify with: the fetched ones, or after a
// failed fetch the cached ones while they are within their grace period.
// Concurrent callers share one fetch. Before discovery has succeeded
// (Config.DeferDiscovery) the jwks_uri is unknown and it fails with an
// *UnavailableError.
func (k *KeySet) refresh(ctx context.Context) ([]publicKey, error) {
	jwksURL, err := k.url(ctx)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		now := k.now()
		if !k.fetched.IsZero() && now.Sub(k.fetched) < MinJWKSRefresh {
			keys, err := k.usable(now)
			k.mu.Unlock()
			return keys, err
		}
		k.fetched = now
		f = &fetch{done: make(chan struct{})}
		k.inflight = f
		// The fetch outlives a caller that gives up, since others may wait
		// for it, but not forever: a stuck fetch would block every refetch.
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxJWKSFetch)
			defer cancel()
			k.run(fctx, jwksURL, f)
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

// usable returns the cached keys if they may still be used at now (fresh,
// or stale within the grace period), else the last fetch error. k.mu must
// be held.
func (k *KeySet) usable(now time.Time) ([]publicKey, error) {
	if now.Before(k.stale) {
		return k.keys, nil
	}
	if k.lastErr != nil {
		return nil, k.lastErr
	}
	return nil, errors.New("JWKS expired")
}

func (k *KeySet) run(ctx context.Context, jwksURL string, f *fetch) {
	keys, maxAge, err := k.download(ctx, jwksURL)
	k.mu.Lock()
	now := k.now()
	k.lastErr = err
	if err == nil {
		k.keys = keys
		k.fresh = now.Add(maxAge)
		k.stale = k.fresh.Add(maxAge)
	}
	f.keys, f.err = k.usable(now)
	stale := k.stale
	k.inflight = nil
	k.mu.Unlock()
	if err != nil {
		if f.err == nil {
			k.log.ErrorContext(ctx, "rp: JWKS fetch failed; verifying with the keys fetched before", "jwks_uri", jwksURL, "until", stale, "err", err)
		} else {
			k.log.ErrorContext(ctx, "rp: JWKS fetch failed", "jwks_uri", jwksURL, "err", err)
		}
	}
	close(f.done)
}

// download fetches and parses the JWKS and returns its keys and how long
// they may be trusted.
func (k *KeySet) download(ctx context.Context, jwksURL string) ([]publicKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s: status %s", jwksURL, resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("%s: JWKS larger than %d bytes", jwksURL, maxJWKSBytes)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, cacheMaxAge(resp.Header, k.maxAge), nil
}

// cacheMaxAge returns how long a response may be used by its Cache-Control
// max-age less its Age (RFC 9111 §5.2.2.1, §5.1), between minJWKSMaxAge
// and limit; limit without a max-age. no-cache, no-store and a malformed
// max-age give minJWKSMaxAge. Of several max-age directives the first
// counts (RFC 9111 §4.2.1).
func cacheMaxAge(h http.Header, limit time.Duration) time.Duration {
	d, seen := limit, false
	for _, line := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return minJWKSMaxAge
			case "max-age":
				if seen {
					continue
				}
				seen = true
				secs, ok := deltaSeconds(strings.Trim(strings.TrimSpace(value), `"`))
				if !ok {
					return minJWKSMaxAge
				}
				d = secs
			}
		}
	}
	if age, ok := deltaSeconds(h.Get("Age")); ok && seen {
		d -= age
	}
	return min(max(d, minJWKSMaxAge), limit)
}

// deltaSeconds parses an RFC 9111 delta-seconds value (1*DIGIT), saturating
// instead of overflowing.
func deltaSeconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	const maxSecs = int64(math.MaxInt64 / int64(time.Second))
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int64(c-'0'), maxSecs)
	}
	return time.Duration(n) * time.Second, true
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
