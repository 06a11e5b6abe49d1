package logout

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/jwtclaims"
	"github.com/oidc-slo/slo/rp"
)

// Defaults of [VerifierConfig].
const (
	// DefaultClockSkew is the leeway applied to iat, exp and nbf.
	DefaultClockSkew = 60 * time.Second
	// DefaultMaxAge is how old (by iat) a logout token may be.
	DefaultMaxAge = 5 * time.Minute
	// MaxTokenSize is the longest logout token, in bytes, that a Verifier
	// looks at; longer ones are refused with [ReasonTooLarge].
	MaxTokenSize = 64 << 10
)

// KeyVerifier checks a JWS signature against an OP's published keys.
// [*rp.KeySet] implements it: it selects the key by kid from the OP's
// jwks_uri (re-fetching the JWKS once, rate-limited, for an unknown kid) and
// never uses keys named or embedded in the token's header (jku, x5u, jwk).
// Verify returns the verified payload.
type KeyVerifier interface {
	Verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error)
}

// Provider is one OP whose logout tokens a [Verifier] accepts, with the
// relying party's registration at that OP. [ProviderFromClient] builds one
// from an [rp.Client].
type Provider struct {
	// Issuer is the OP's issuer identifier; a token's "iss" must equal it
	// exactly. Required, and unique among a verifier's providers.
	Issuer string
	// ClientID is the relying party's client_id at this OP; "aud" must
	// contain it and no other audience. Required.
	ClientID string
	// Algs are the JWS algorithms this OP signs ID and logout tokens with
	// (id_token_signed_response_alg). A token signed with any other
	// algorithm is refused even if a published key verifies it. Default
	// ["RS256"]; "none" is never accepted.
	Algs []string
	// Keys verifies signatures with the OP's published keys. Required.
	Keys KeyVerifier
	// Decrypt decrypts a compact JWE with the relying party's ID token
	// decryption keys and returns the plaintext (which must be a compact
	// JWS). Nil means the relying party cannot decrypt: encrypted tokens are
	// refused.
	Decrypt func(raw string) (string, error)
	// EncryptionRequired refuses unencrypted tokens from this OP. Set it
	// when ID token encryption was registered (Back-Channel Logout §2.6
	// step 1). It requires Decrypt.
	EncryptionRequired bool
}

// ProviderFromClient returns the Provider for the OP c talks to: its
// issuer, client_id, ID token signing algorithms (Config.SigningAlgs) and
// key set (remote JWKS with kid refetch), and, when c has decryption keys,
// its Decrypt with EncryptionRequired set.
func ProviderFromClient(c *rp.Client) Provider {
	p := Provider{
		Issuer:   c.Issuer(),
		ClientID: c.ClientID(),
		Algs:     c.Config().SigningAlgs,
		Keys:     c.Keys(),
	}
	if c.EncryptionRequired() {
		p.Decrypt = c.Decrypt
		p.EncryptionRequired = true
	}
	return p
}

// TypPolicy says which JWS "typ" header values a [Verifier] accepts.
type TypPolicy int

const (
	// TypLenient, the default, accepts no typ and the values "JWT",
	// "logout+jwt" and "application/logout+jwt" (case-insensitively) and
	// refuses any other explicit typ, such as "at+jwt" (cross-JWT
	// confusion, RFC 8725 §3.11). Most OPs, and the OpenID conformance
	// suite, send no typ.
	TypLenient TypPolicy = iota
	// TypStrict requires "logout+jwt" or "application/logout+jwt"
	// (case-insensitively). Back-Channel Logout §4.1 warns that this breaks
	// most deployments.
	TypStrict
)

// VerifierConfig configures [NewVerifier].
type VerifierConfig struct {
	// Providers are the trusted OPs. A token's "iss" selects one, and only
	// that provider's keys, algorithms and client_id are used. At least one
	// is required.
	Providers []Provider
	// ClockSkew is the leeway for iat, exp and nbf. Default
	// [DefaultClockSkew]; negative is an error.
	ClockSkew time.Duration
	// MaxAge is the iat window: a token issued more than MaxAge+ClockSkew
	// ago is refused even if its exp is later. It is also what bounds the
	// token's life when AllowMissingExp lets a token without exp through,
	// and how long a jti is remembered for single use. Default
	// [DefaultMaxAge]; negative is an error.
	MaxAge time.Duration
	// AllowMissingExp accepts tokens without "exp", as sent by OPs built to
	// the 2022 text of Back-Channel Logout (before errata set 1 made exp
	// required; node oidc-provider 6.x is one). Off by default. A present
	// exp is always checked.
	AllowMissingExp bool
	// Typ is the policy for the JWS "typ" header. Default [TypLenient].
	Typ TypPolicy
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Verifier checks back-channel logout tokens. It is safe for concurrent use.
type Verifier struct {
	providers       map[string]*provider
	ordered         []*provider // config order, for JWEs without an iss header
	algs            []jose.SignatureAlgorithm
	skew, maxAge    time.Duration
	allowMissingExp bool
	typ             TypPolicy
	now             func() time.Time
}

type provider struct {
	Provider
	algs []jose.SignatureAlgorithm
}

// signatureAlgs are the JWS algorithms a Provider may be pinned to.
var signatureAlgs = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"EdDSA": jose.EdDSA,
	"HS256": jose.HS256, "HS384": jose.HS384, "HS512": jose.HS512,
}

// NewVerifier validates cfg and returns a Verifier. It reports every problem
// in cfg at once.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	var errs []error
	if len(cfg.Providers) == 0 {
		errs = append(errs, errors.New("logout: VerifierConfig.Providers is empty"))
	}
	if cfg.ClockSkew < 0 {
		errs = append(errs, errors.New("logout: VerifierConfig.ClockSkew is negative"))
	}
	if cfg.MaxAge < 0 {
		errs = append(errs, errors.New("logout: VerifierConfig.MaxAge is negative"))
	}
	if cfg.Typ != TypLenient && cfg.Typ != TypStrict {
		errs = append(errs, fmt.Errorf("logout: VerifierConfig.Typ %d is unknown", cfg.Typ))
	}
	v := &Verifier{
		providers:       make(map[string]*provider, len(cfg.Providers)),
		skew:            cfg.ClockSkew,
		maxAge:          cfg.MaxAge,
		allowMissingExp: cfg.AllowMissingExp,
		typ:             cfg.Typ,
		now:             cfg.Now,
	}
	if v.skew == 0 {
		v.skew = DefaultClockSkew
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.now == nil {
		v.now = time.Now
	}
	for i, pc := range cfg.Providers {
		p := &provider{Provider: pc}
		p.Algs = slices.Clone(pc.Algs)
		if len(p.Algs) == 0 {
			p.Algs = []string{"RS256"}
		}
		name := fmt.Sprintf("logout: VerifierConfig.Providers[%d]", i)
		if p.Issuer == "" {
			errs = append(errs, errors.New(name+".Issuer is empty"))
		} else if _, dup := v.providers[p.Issuer]; dup {
			errs = append(errs, fmt.Errorf("%s.Issuer %q is configured twice", name, p.Issuer))
		}
		if p.ClientID == "" {
			errs = append(errs, errors.New(name+".ClientID is empty"))
		}
		if p.Keys == nil {
			errs = append(errs, errors.New(name+".Keys is nil"))
		}
		if p.EncryptionRequired && p.Decrypt == nil {
			errs = append(errs, errors.New(name+".EncryptionRequired needs Decrypt"))
		}
		for _, a := range p.Algs {
			alg, ok := signatureAlgs[a]
			if !ok {
				errs = append(errs, fmt.Errorf("%s.Algs: %q is not a supported signature algorithm", name, a))
				continue
			}
			p.algs = append(p.algs, alg)
			if !slices.Contains(v.algs, alg) {
				v.algs = append(v.algs, alg)
			}
		}
		v.providers[p.Issuer] = p
		v.ordered = append(v.ordered, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return v, nil
}

// Verify checks raw as a back-channel logout token and returns its claims.
// It follows Back-Channel Logout 1.0 (errata set 1) §2.6 in order:
//
//  1. If raw is a JWE, decrypt it with the keys of the provider named by
//     the JWE header's "iss" (or, without one, of the first provider that
//     can); the plaintext must be a JWS. An unencrypted token is refused
//     when the issuer's provider requires encryption. Without an iss
//     header, the token belongs to the provider its inner "iss" names,
//     whose keys must decrypt it too (OPs may share the relying party's
//     decryption key).
//  2. Parse the JWS once, refuse "none", an algorithm outside every
//     provider's list, any "crit" header and a "typ" the [TypPolicy]
//     refuses; select the provider by the (not yet trusted) "iss" claim,
//     require the JWS algorithm to be one of that provider's, and verify
//     the signature with that provider's keys only.
//  3. Check iss (exact), aud (contains the client_id and nothing else),
//     azp (if present, the client_id), iat (present, not after now+skew,
//     not before now-MaxAge-skew), exp (present unless AllowMissingExp;
//     now < exp+skew), nbf (if present, not after now+skew).
//  4. Require sub and/or sid, each a non-empty string when present.
//  5. Require "events" to be an object whose back-channel logout member is
//     an object.
//  6. Refuse any "nonce" claim, whatever its value.
//  7. Require a non-empty string "jti".
//
// The payload is a JSON object that must not repeat any of these claims.
// Replay detection (step 8) needs state and is the [BackChannelHandler]'s
// job. Every error is a *[ValidationError].
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	if len(raw) == 0 {
		return nil, invalid(ReasonMalformed, "empty token")
	}
	if len(raw) > MaxTokenSize {
		return nil, invalid(ReasonTooLarge, "")
	}
	var (
		encryptedFor *provider // the provider that decrypted raw, if a JWE
		jwe          string    // the JWE, if raw was one
		issHeader    bool      // whether the JWE header named the issuer
	)
	switch strings.Count(raw, ".") {
	case 2:
	case 4:
		p, plain, named, err := v.decrypt(raw)
		if err != nil {
			return nil, err
		}
		encryptedFor, jwe, issHeader, raw = p, raw, named, plain
	default:
		return nil, invalid(ReasonMalformed, "not a compact JWS or JWE")
	}

	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			if strings.EqualFold(string(ua.Got), "none") {
				return nil, invalid(ReasonAlgNone, "")
			}
			return nil, invalidErr(ReasonAlgNotAllowed, err)
		}
		return nil, invalidErr(ReasonMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid(ReasonMalformed, "not exactly one signature")
	}
	h := jws.Signatures[0].Header
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, invalid(ReasonCrit, "")
	}
	if err := v.checkTyp(h.ExtraHeaders[jose.HeaderType]); err != nil {
		return nil, err
	}

	payload := jws.UnsafePayloadWithoutVerification()
	rc, err := parseClaims(payload)
	if err != nil {
		return nil, err
	}
	iss, ok := jwtclaims.String(rc.Iss)
	if !ok {
		return nil, invalid(ReasonUnknownIssuer, "iss missing or not a string")
	}
	p := v.providers[iss]
	if p == nil {
		return nil, invalid(ReasonUnknownIssuer, "")
	}
	if encryptedFor != nil && encryptedFor != p {
		// Without an iss header the JWE went to the first provider that
		// could decrypt it; several OPs may share the relying party's
		// decryption key. It belongs to the issuer its inner token names
		// (verified below with that issuer's keys) if that issuer's
		// provider decrypts it too.
		if issHeader || !decryptsTo(p, jwe, raw) {
			return nil, invalid(ReasonUnknownIssuer, "token decrypted for another issuer")
		}
		encryptedFor = p
	}
	if encryptedFor == nil && p.EncryptionRequired {
		return nil, invalid(ReasonEncryptionRequired, "")
	}
	if !slices.Contains(p.algs, jose.SignatureAlgorithm(h.Algorithm)) {
		return nil, invalid(ReasonAlgNotAllowed, "algorithm not registered for this issuer")
	}
	verified, err := p.Keys.Verify(ctx, jws)
	if err != nil {
		return nil, invalidErr(ReasonBadSignature, err)
	}
	if !bytes.Equal(verified, payload) {
		return nil, invalid(ReasonBadSignature, "verified payload differs")
	}
	return v.checkClaims(p, &rc, payload)
}

// decrypt handles step 1 for a compact JWE: it decrypts raw with the
// provider the JWE header's iss names or, without one, with the first
// provider that can. named reports whether the header named the provider.
func (v *Verifier) decrypt(raw string) (*provider, string, bool, error) {
	candidates := v.ordered
	named := false
	if iss, ok := jweIssuer(raw); ok {
		p := v.providers[iss]
		if p == nil {
			return nil, "", true, invalid(ReasonUnknownIssuer, "JWE iss header names no provider")
		}
		candidates = []*provider{p}
		named = true
	}
	var lastErr error
	for _, p := range candidates {
		if p.Decrypt == nil {
			continue
		}
		plain, err := p.Decrypt(raw)
		if err != nil {
			lastErr = err
			continue
		}
		if len(plain) > MaxTokenSize || strings.Count(plain, ".") != 2 {
			return nil, "", named, invalid(ReasonDecryption, "plaintext is not a compact JWS")
		}
		return p, plain, named, nil
	}
	if lastErr == nil {
		return nil, "", named, invalid(ReasonDecryption, "no decryption keys configured")
	}
	return nil, "", named, invalidErr(ReasonDecryption, lastErr)
}

// decryptsTo reports whether p's keys decrypt the JWE to plain.
func decryptsTo(p *provider, jwe, plain string) bool {
	if p.Decrypt == nil {
		return false
	}
	got, err := p.Decrypt(jwe)
	return err == nil && got == plain
}

// jweIssuer returns the "iss" member of a compact JWE's protected header,
// which Back-Channel Logout §2.4 says an OP SHOULD replicate there.
func jweIssuer(raw string) (string, bool) {
	seg, _, _ := strings.Cut(raw, ".")
	hdr, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", false
	}
	var h struct {
		Iss json.RawMessage `json:"iss"`
	}
	if json.Unmarshal(hdr, &h) != nil {
		return "", false
	}
	return jwtclaims.String(h.Iss)
}

// checkTyp applies the TypPolicy to the JWS "typ" header (nil if absent).
func (v *Verifier) checkTyp(typ any) error {
	if typ == nil {
		if v.typ == TypStrict {
			return invalid(ReasonTyp, "typ missing")
		}
		return nil
	}
	s, ok := typ.(string)
	if !ok {
		return invalid(ReasonTyp, "typ is not a string")
	}
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	if s == "logout+jwt" || (s == "jwt" && v.typ == TypLenient) {
		return nil
	}
	return invalid(ReasonTyp, "")
}

// checkClaims does steps 3 to 7 on a payload whose signature was verified
// with p's keys.
func (v *Verifier) checkClaims(p *provider, rc *jwtclaims.Claims, payload []byte) (*Token, error) {
	now := v.now()
	t := &Token{Issuer: p.Issuer, payload: payload}

	aud, ok := jwtclaims.Audience(rc.Aud)
	if !ok {
		return nil, invalid(ReasonAudience, "aud missing or not a string or array of strings")
	}
	for _, a := range aud {
		if a != p.ClientID {
			return nil, invalid(ReasonAudience, "aud lacks the client_id or has an untrusted audience")
		}
	}
	t.Audience = aud
	if rc.AZP != nil {
		if azp, ok := jwtclaims.String(rc.AZP); !ok || azp != p.ClientID {
			return nil, invalid(ReasonAZP, "")
		}
	}

	if t.IssuedAt, ok = jwtclaims.NumericDate(rc.IAT); !ok {
		return nil, invalid(ReasonIAT, "iat missing or not a valid NumericDate")
	}
	if t.IssuedAt.After(now.Add(v.skew)) {
		return nil, invalid(ReasonIssuedInFuture, "")
	}
	if t.IssuedAt.Before(now.Add(-v.maxAge - v.skew)) {
		return nil, invalid(ReasonTooOld, "")
	}
	switch {
	case rc.Exp != nil:
		if t.Expiry, ok = jwtclaims.NumericDate(rc.Exp); !ok {
			return nil, invalid(ReasonMalformed, "exp is not a valid NumericDate")
		}
		if !now.Before(t.Expiry.Add(v.skew)) {
			return nil, invalid(ReasonExpired, "")
		}
	case !v.allowMissingExp:
		return nil, invalid(ReasonMissingExp, "")
	}
	if rc.NBF != nil {
		nbf, ok := jwtclaims.NumericDate(rc.NBF)
		if !ok {
			return nil, invalid(ReasonMalformed, "nbf is not a valid NumericDate")
		}
		if nbf.After(now.Add(v.skew)) {
			return nil, invalid(ReasonNotYetValid, "")
		}
	}

	if rc.Sub == nil && rc.SID == nil {
		return nil, invalid(ReasonSubject, "neither sub nor sid")
	}
	if rc.Sub != nil {
		if t.Subject, ok = jwtclaims.String(rc.Sub); !ok || t.Subject == "" {
			return nil, invalid(ReasonSubject, "sub empty or not a string")
		}
	}
	if rc.SID != nil {
		if t.SID, ok = jwtclaims.String(rc.SID); !ok || t.SID == "" {
			return nil, invalid(ReasonSubject, "sid empty or not a string")
		}
	}

	if rc.Events == nil {
		return nil, invalid(ReasonEvents, "events missing")
	}
	if err := checkEvents(rc.Events); err != nil {
		return nil, err
	}

	if rc.Nonce != nil {
		return nil, invalid(ReasonNonce, "")
	}

	if t.JTI, ok = jwtclaims.String(rc.JTI); !ok || t.JTI == "" {
		return nil, invalid(ReasonJTI, "jti missing, empty or not a string")
	}
	return t, nil
}

// replayUntil is how long t's jti is remembered for single use: until the
// verifier would refuse t anyway, by exp or by the iat window, whichever
// comes first (plus a second for fractional NumericDates).
func (v *Verifier) replayUntil(t *Token) time.Time {
	until := t.IssuedAt.Add(v.maxAge + v.skew)
	if !t.Expiry.IsZero() {
		if e := t.Expiry.Add(v.skew); e.Before(until) {
			until = e
		}
	}
	return until.Add(time.Second)
}
