package rp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"
)

// FuzzParseJWKS checks that any JWKS body yields only public verification
// keys, never a symmetric or private key, and never panics.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"enc"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"OKP","crv":"Ed448","x":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"alg":5}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseJWKS(body)
		if err != nil && keys != nil {
			t.Fatal("keys returned with an error")
		}
		for _, k := range keys {
			switch k.key.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("parseJWKS returned a %T", k.key)
			}
			if k.alg != "" && (!knownSigningAlg(string(k.alg)) || isHMAC(string(k.alg))) {
				t.Fatalf("key with alg %q", k.alg)
			}
		}
	})
}

func TestCacheMaxAge(t *testing.T) {
	const limit = 24 * time.Hour
	tests := []struct {
		cacheControl []string
		age          string
		want         time.Duration
	}{
		{nil, "", limit},
		{nil, "600", limit}, // Age without max-age: the limit
		{[]string{"max-age=3600"}, "", time.Hour},
		{[]string{`max-age="3600"`}, "", time.Hour},
		{[]string{"public", "max-age=3600"}, "", time.Hour},
		{[]string{"max-age=3600, max-age=60000"}, "", time.Hour}, // the first counts
		{[]string{"max-age=3600"}, "3000", 10 * time.Minute},
		{[]string{"max-age=3600"}, "x", time.Hour}, // malformed Age ignored
		{[]string{"max-age=3600"}, "9999999", minJWKSMaxAge},
		{[]string{"max-age=99999999999999999999999"}, "", limit},
		{[]string{"max-age=-5"}, "", minJWKSMaxAge},
		{[]string{"max-age="}, "", minJWKSMaxAge},
		{[]string{"s-maxage=3600"}, "", limit},
		{[]string{"private, No-Store"}, "", minJWKSMaxAge},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.cacheControl {
			h.Add("Cache-Control", v)
		}
		if tt.age != "" {
			h.Set("Age", tt.age)
		}
		if got := cacheMaxAge(h, limit); got != tt.want {
			t.Errorf("cacheMaxAge(%q, Age %q) = %v, want %v", tt.cacheControl, tt.age, got, tt.want)
		}
	}
}
