package middleware

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSealKeyIsHKDF pins the sealing key derivation: HKDF-SHA256 of
// Config.Key with the info "slo cookie sealing v1", so that records sealed
// by one replica open on every other replica of the same version.
func TestSealKeyIsHKDF(t *testing.T) {
	s, err := newSealer([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := seal(s, "c", loginRecord{ReturnTo: "/x"}, time.Unix(1_800_000_060, 0))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Key(sha256.New, []byte("k"), nil, "slo cookie sealing v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("c"))
	if err != nil {
		t.Fatalf("the record does not open with the HKDF-derived key: %v", err)
	}
	if !strings.Contains(string(plain), `"/x"`) {
		t.Fatalf("plaintext %q", plain)
	}
}

func TestSealRoundTripAndTamper(t *testing.T) {
	s, err := newSealer([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v, err := seal(s, "c", loginRecord{ReturnTo: "/x"}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, err := unseal[loginRecord](s, "c", v, now)
	if err != nil || got.ReturnTo != "/x" {
		t.Fatalf("unseal = %+v, %v", got, err)
	}
	if _, err := unseal[loginRecord](s, "other", v, now); err == nil {
		t.Error("a record moved to another cookie name was accepted")
	}
	if _, err := unseal[loginRecord](s, "c", v, now.Add(time.Minute)); err == nil {
		t.Error("an expired record was accepted")
	}
	other, _ := newSealer([]byte("k2"))
	if _, err := unseal[loginRecord](other, "c", v, now); err == nil {
		t.Error("a record sealed with another key was accepted")
	}
	b := []byte(v)
	b[len(b)/2] ^= 1
	if _, err := unseal[loginRecord](s, "c", string(b), now); err == nil {
		t.Error("a tampered record was accepted")
	}
}

// FuzzCookieDecoding feeds arbitrary Cookie headers through the code that
// reads the session token and the sealed login and logout records: it must
// never panic, never accept a malformed token, and never open anything but
// the one record sealed here (seeds are made in another process with
// another nonce, so the check is on the content).
func FuzzCookieDecoding(f *testing.F) {
	s, _ := newSealer([]byte("fuzz"))
	good, _ := seal(s, "slo_logout", logoutRecord{State: "s", ReturnTo: "/"}, time.Now().Add(time.Hour))
	for _, h := range []string{
		"slo=ABCDEFGHIJKLMNOPQRSTUVWXYZ", "slo=\"x\"; slo_logout=" + good, "slo_logout=" + good + "x",
		"slo=;;;=", "slo=" + strings.Repeat("A", 5000), "slo_logout=%%%",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		if c, err := r.Cookie("slo"); err == nil && validToken(c.Value) {
			v := c.Value
			if len(v) != tokenLen || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
				t.Fatalf("accepted token %q", v)
			}
		}
		if c, err := r.Cookie("slo_logout"); err == nil {
			v := c.Value
			rec, err := unseal[logoutRecord](s, "slo_logout", v, time.Now())
			if err == nil && (rec.State != "s" || rec.ReturnTo != "/") {
				t.Fatalf("opened a record it did not seal: %q → %+v", v, rec)
			}
		}
	})
}
