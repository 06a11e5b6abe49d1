package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one published private key.
type signingKey struct {
	kid string
	alg string // RS256 or ES256
	key crypto.Signer
}

// keySet holds the OP's published signing keys. The newest key of each
// algorithm signs; older ones stay published until retired.
type keySet struct {
	mu   sync.RWMutex
	keys []signingKey
	gen  int
}

func newKeySet() (*keySet, error) {
	ks := &keySet{}
	if err := ks.rotate(); err != nil {
		return nil, err
	}
	return ks, nil
}

// keyPool holds the RSA keys of closed OPs for reuse: generating a 2048-bit
// key takes a quarter of a second or more, and a test suite starts many
// OPs. Two OPs alive at the same time never share a key.
var keyPool struct {
	sync.Mutex
	rsa []*rsa.PrivateKey
}

func pooledRSAKey() (*rsa.PrivateKey, error) {
	keyPool.Lock()
	if n := len(keyPool.rsa); n > 0 {
		k := keyPool.rsa[n-1]
		keyPool.rsa = keyPool.rsa[:n-1]
		keyPool.Unlock()
		return k, nil
	}
	keyPool.Unlock()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("testop: generate RSA key: %w", err)
	}
	return k, nil
}

// release returns the RSA keys to the pool; the key set must not be used
// afterwards.
func (ks *keySet) release() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	keyPool.Lock()
	defer keyPool.Unlock()
	for _, k := range ks.keys {
		if rk, ok := k.key.(*rsa.PrivateKey); ok {
			keyPool.rsa = append(keyPool.rsa, rk)
		}
	}
	ks.keys = nil
}

// rotate adds a new RS256 and a new ES256 key.
func (ks *keySet) rotate() error {
	rk, err := pooledRSAKey()
	if err != nil {
		return err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("testop: generate EC key: %w", err)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.gen++
	suffix := rand.Text()[:8]
	ks.keys = append(ks.keys,
		signingKey{kid: fmt.Sprintf("rsa-%d-%s", ks.gen, suffix), alg: "RS256", key: rk},
		signingKey{kid: fmt.Sprintf("ec-%d-%s", ks.gen, suffix), alg: "ES256", key: ek},
	)
	return nil
}

// retire drops all but the newest key of each algorithm.
func (ks *keySet) retire() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var keep []signingKey
	seen := map[string]bool{}
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if k := ks.keys[i]; !seen[k.alg] {
			seen[k.alg] = true
			keep = append([]signingKey{k}, keep...)
		}
	}
	ks.keys = keep
}

// current returns the newest key for alg.
func (ks *keySet) current(alg string) (signingKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if ks.keys[i].alg == alg {
			return ks.keys[i], true
		}
	}
	return signingKey{}, false
}

func (ks *keySet) byKID(kid string) (signingKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.keys {
		if k.kid == kid {
			return k, true
		}
	}
	return signingKey{}, false
}

// public returns the JWKS document.
func (ks *keySet) public() jose.JSONWebKeySet {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	var set jose.JSONWebKeySet
	for _, k := range ks.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	return set
}

// RotateKeys adds a new RS256 and ES256 key (new kids) and signs with them
// from now on. The old keys stay in the JWKS until RetireOldKeys.
func (op *OP) RotateKeys() error { return op.keys.rotate() }

// RetireOldKeys removes every key but the current ones from the JWKS.
func (op *OP) RetireOldKeys() { op.keys.retire() }

// JWKS returns the published key set.
func (op *OP) JWKS() jose.JSONWebKeySet { return op.keys.public() }

// KeyID returns the kid of the key currently signing with alg (RS256 or
// ES256), or "" if there is none.
func (op *OP) KeyID(alg string) string {
	k, _ := op.keys.current(alg)
	return k.kid
}

// ForeignKey returns a new RSA private key, with a kid, that the OP does not
// publish. Sign with it through WithKey to test signature failures.
func (op *OP) ForeignKey() jose.JSONWebKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("testop: generate RSA key: " + err.Error())
	}
	return jose.JSONWebKey{Key: k, KeyID: "foreign-" + rand.Text()[:8], Algorithm: "RS256", Use: "sig"}
}

func (op *OP) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(op.keys.public()); err != nil {
		op.logError(r.Context(), "write JWKS", err)
	}
}

// errBadToken is returned when a token was not issued by this OP.
var errBadToken = errors.New("testop: token not issued by this OP")

// verifyOwn checks that raw is a JWS signed by this OP (with a published
// key, or HS256 with the secret of its audience) and returns its claims.
// Expiry is not checked: id_token_hint may be expired.
func (op *OP) verifyOwn(raw string) (map[string]any, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.HS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %v", errBadToken, err)
	}
	h := jws.Signatures[0].Header
	var key any
	if h.Algorithm == string(jose.HS256) {
		var c struct {
			Aud audience `json:"aud"`
		}
		if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil || len(c.Aud) == 0 {
			return nil, errBadToken
		}
		cl, ok := op.client(c.Aud[0])
		if !ok || cl.Secret == "" {
			return nil, errBadToken
		}
		key = []byte(cl.Secret)
	} else {
		k, ok := op.keys.byKID(h.KeyID)
		if !ok || k.alg != h.Algorithm {
			return nil, errBadToken
		}
		key = k.key.Public()
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadToken, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if claims["iss"] != op.cfg.Issuer {
		return nil, fmt.Errorf("%w: wrong iss", errBadToken)
	}
	return claims, nil
}

// audience is a JWT aud claim: a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}
