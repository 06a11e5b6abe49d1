package logout_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// staticKeys stands in for the OP's JWKS in the example.
type staticKeys struct{ key *ecdsa.PublicKey }

func (k staticKeys) Verify(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	return jws.Verify(k.key)
}

func ExampleNewBackChannelHandler() {
	ctx := context.Background()
	const issuer = "https://op.example"

	// The OP's signing key. A real application gets the Provider from its
	// rp.Client instead: logout.ProviderFromClient(client).
	opKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := logout.NewVerifier(logout.VerifierConfig{Providers: []logout.Provider{{
		Issuer: issuer, ClientID: "app", Algs: []string{"ES256"}, Keys: staticKeys{&opKey.PublicKey},
	}}})
	if err != nil {
		log.Fatal(err)
	}

	// alice is logged in, in OP session "op-session-1".
	store := memstore.New(memstore.Config{})
	err = store.Create(ctx, &sessionstore.Session{
		ID: "hash-of-cookie", Issuer: issuer, Subject: "alice", SID: "op-session-1",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}

	h, err := logout.NewBackChannelHandler(logout.BackChannelConfig{
		Verifier: verifier,
		Store:    store,
		Logger:   slog.New(slog.DiscardHandler),
		OnLogout: func(_ context.Context, e logout.Event) {
			fmt.Printf("%s logout of sid %s: %d session(s) ended\n", e.Channel, e.SID, e.Ended)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	// No method in the pattern: the handler answers other methods itself,
	// with 405 and Cache-Control: no-store.
	mux.Handle("/backchannel-logout", h)

	// The OP POSTs a logout token.
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": issuer, "aud": "app", "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "unique-id", "sub": "alice", "sid": "op-session-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: opKey}, (&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		log.Fatal(err)
	}
	token, _ := jws.CompactSerialize()
	req := httptest.NewRequest(http.MethodPost, "/backchannel-logout",
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))

	// The same token again is a replay.
	req = httptest.NewRequest(http.MethodPost, "/backchannel-logout",
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))

	// Output:
	// back-channel logout of sid op-session-1: 1 session(s) ended
	// 200 no-store
	// back-channel logout of sid op-session-1: 0 session(s) ended
	// 400 no-store
}

// ExampleProviderFromClient wires a back-channel endpoint for an OP that the
// application already uses for login.
func ExampleProviderFromClient() {
	ctx := context.Background()
	client, err := rp.New(ctx, rp.Config{
		Issuer:       "https://op.example",
		ClientID:     "app",
		ClientSecret: "secret",
		RedirectURL:  "https://app.example/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := logout.NewVerifier(logout.VerifierConfig{
		Providers: []logout.Provider{logout.ProviderFromClient(client)},
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := logout.NewBackChannelHandler(logout.BackChannelConfig{
		Verifier: verifier,
		Store:    memstore.New(memstore.Config{}),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Register https://app.example/backchannel-logout as the client's
	// backchannel_logout_uri at the OP.
	http.Handle("/backchannel-logout", h)
}

// ExampleValidationError shows how to tell why a token was refused.
func ExampleValidationError() {
	verifier, err := logout.NewVerifier(logout.VerifierConfig{Providers: []logout.Provider{{
		Issuer: "https://op.example", ClientID: "app", Keys: staticKeys{},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	// An unsigned token ("alg":"none").
	_, err = verifier.Verify(context.Background(), "eyJhbGciOiJub25lIn0.e30.")
	var ve *logout.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Reason)
		fmt.Println(err)
	}
	// Output:
	// alg_none
	// logout: invalid logout token: alg_none
}
