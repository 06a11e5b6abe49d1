package logout_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// A relying party serves its frontchannel_logout_uri. The OP's logout page
// loads it in an iframe with iss and sid; the sessions of that OP session
// end, whichever browser or device they belong to.
func ExampleNewFrontChannelHandler() {
	store := memstore.New(memstore.Config{})
	ctx := context.Background()
	now := time.Now()
	_ = store.Create(ctx, &sessionstore.Session{
		ID: "hashed-cookie-token", Issuer: "https://op.example", Subject: "alice", SID: "08a5019c-17e1",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	})

	h, err := logout.NewFrontChannelHandler(logout.FrontChannelConfig{
		Issuers: []string{"https://op.example"},
		Store:   store,
		OnLogout: func(ctx context.Context, e logout.Event) {
			fmt.Printf("%s logout of sid %s at %s: %d session(s) ended\n", e.Channel, e.SID, e.Issuer, e.Ended)
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /frontchannel-logout", h)

	// What the OP's iframe requests.
	q := url.Values{"iss": {"https://op.example"}, "sid": {"08a5019c-17e1"}}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?"+q.Encode(), nil))
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))

	_, err = store.Get(ctx, "hashed-cookie-token")
	fmt.Println("session gone:", err != nil)
	// Output:
	// front-channel logout of sid 08a5019c-17e1 at https://op.example: 1 session(s) ended
	// 200 no-cache, no-store
	// session gone: true
}
