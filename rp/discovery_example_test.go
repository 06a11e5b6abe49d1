package rp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/oidc-slo/slo/rp"
)

// ExampleConfig_deferDiscovery starts an app while its OP is still down.
// A login handler asks the Client whether the OP is ready and answers 503
// with Retry-After until it is; the first request after the backoff
// discovers the OP.
func ExampleConfig_deferDiscovery() {
	var up atomic.Bool
	var op *httptest.Server
	op = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                 op.URL,
			"authorization_endpoint": op.URL + "/authorize",
			"token_endpoint":         op.URL + "/token",
			"jwks_uri":               op.URL + "/jwks",
		})
	}))
	defer op.Close()

	now := time.Now()
	c, err := rp.New(context.Background(), rp.Config{
		Issuer:         op.URL,
		ClientID:       "app",
		RedirectURL:    "http://localhost:8080/callback",
		DeferDiscovery: true,
		Now:            func() time.Time { return now }, // a test clock, so that the example need not wait
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err) // only for an invalid Config
	}
	fmt.Println("discovered:", c.Discovered())

	login := func(w http.ResponseWriter, r *http.Request) {
		if err := c.Ready(r.Context()); err != nil {
			var ue *rp.UnavailableError
			if errors.As(err, &ue) {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ue.RetryAfter.Seconds()))))
			}
			http.Error(w, "Sign-in is not available yet; try again shortly.", http.StatusServiceUnavailable)
			return
		}
		authURL, _, err := c.Login() // keep the LoginState for the callback
		if err != nil {
			http.Error(w, "Sign-in failed.", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, authURL, http.StatusFound)
	}

	rec := httptest.NewRecorder()
	login(rec, httptest.NewRequest("GET", "/login", nil))
	fmt.Println(rec.Code, "Retry-After:", rec.Header().Get("Retry-After"))

	up.Store(true)             // the OP has started
	now = now.Add(time.Second) // and Retry-After has passed
	rec = httptest.NewRecorder()
	login(rec, httptest.NewRequest("GET", "/login", nil))
	fmt.Println(rec.Code, "discovered:", c.Discovered())
	// Output:
	// discovered: false
	// 503 Retry-After: 1
	// 302 discovered: true
}
