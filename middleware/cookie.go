package middleware

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// tokenLen is the length of a session token made by crypto/rand.Text: 26
// characters of the base32 alphabet, 130 bits.
const tokenLen = 26

// newToken returns a fresh random session token for the browser's cookie.
func newToken() string { return rand.Text() }

// SessionID returns the session-store id for a session cookie token: the
// unpadded base64url SHA-256 of the token. The store never sees the token
// itself, so a leaked store dump cannot be replayed as cookies.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	var b [43]byte // base64.RawURLEncoding.EncodedLen(sha256.Size)
	base64.RawURLEncoding.Encode(b[:], sum[:])
	return string(b[:])
}

// validToken reports whether v has the shape of a token made by newToken.
// Anything else is treated as "no session" without touching the store.
func validToken(v string) bool {
	if len(v) != tokenLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// sessionToken returns the well-formed session token in r's cookie, if any.
func (a *Auth) sessionToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(a.cookieName)
	if err != nil || !validToken(c.Value) {
		return "", false
	}
	return c.Value, true
}

func (a *Auth) setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	c := &http.Cookie{
		Name:     a.cookieName,
		Value:    token,
		Path:     a.cookiePath,
		Secure:   a.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if !a.browserCookie {
		c.Expires = expires
		c.MaxAge = max(1, int(expires.Sub(a.now()).Seconds()))
	}
	http.SetCookie(w, c)
}

// setRecordCookie sets the cookie of a sealed login or logout record; it
// lives as long as a login or logout may take.
func (a *Auth) setRecordCookie(w http.ResponseWriter, name, sealed string, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: sealed, Path: a.cookiePath, MaxAge: int(a.loginTTL.Seconds()),
		Secure: a.secure, HttpOnly: true, SameSite: sameSite,
	})
}

func (a *Auth) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     a.cookiePath,
		MaxAge:   -1,
		Secure:   a.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// sealer protects the short-lived login and logout records kept in cookies:
// AES-256-GCM with the cookie name as additional data, so a record cannot be
// moved from one cookie to another, read, or altered.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	k, err := hkdf.Key(sha256.New, key, nil, "slo cookie sealing v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead}, nil
}

var errBadSeal = errors.New("middleware: cookie record invalid or expired")

// sealedRecord wraps a value with its expiry.
type sealedRecord[T any] struct {
	Exp   int64 `json:"exp"`
	Value T     `json:"v"`
}

func seal[T any](s *sealer, name string, v T, exp time.Time) (string, error) {
	plain, err := json.Marshal(sealedRecord[T]{Exp: exp.Unix(), Value: v})
	if err != nil {
		return "", fmt.Errorf("middleware: sealing cookie: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// maxSealedLen bounds what unseal will decode; browsers cap a cookie at 4 KiB.
const maxSealedLen = 4096

func unseal[T any](s *sealer, name, value string, now time.Time) (T, error) {
	var zero T
	if len(value) > maxSealedLen {
		return zero, errBadSeal
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return zero, errBadSeal
	}
	ns := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:ns], raw[ns:], []byte(name))
	if err != nil {
		return zero, errBadSeal
	}
	var rec sealedRecord[T]
	if err := json.Unmarshal(plain, &rec); err != nil {
		return zero, errBadSeal
	}
	if now.Unix() >= rec.Exp {
		return zero, errBadSeal
	}
	return rec.Value, nil
}
