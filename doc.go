// Package slo is the relying-party side of OpenID Connect single logout for
// Go web applications.
//
// An application imports slo to log users in through an OpenID Provider
// (OP), keep server-side sessions keyed by the OP's session id, and end
// those sessions through every standard channel:
//
//   - RP-initiated logout (the user signs out here; the OP is told),
//   - front-channel logout (the OP loads our logout URL in an iframe),
//   - back-channel logout (the OP's server POSTs a signed logout token),
//   - session management (a hidden iframe notices the OP session ended).
//
// Sessions live on the server and are found by (issuer, sid) and
// (issuer, sub), because logout requests from the OP carry no usable
// browser cookie. The packages:
//
//   - [github.com/oidc-slo/slo/rp]: the OpenID Connect client: discovery
//     (also deferred until the OP answers), login with PKCE, ID token
//     verification, refresh, revocation, the end-session request.
//   - [github.com/oidc-slo/slo/rp/rptest]: an OP for the application's own
//     tests.
//   - [github.com/oidc-slo/slo/sessionstore]: the session record, the Store
//     contract (sessions, and the logouts a login under way must see) and
//     the SingleUse contract (states and logout-token ids used once);
//     memstore implements both in memory, and the separate modules
//     redisstore and pgstore share them between replicas.
//   - [github.com/oidc-slo/slo/logout]: logout token verification, the
//     back-channel and front-channel handlers, logout events.
//   - [github.com/oidc-slo/slo/middleware]: net/http glue that puts it all
//     on a ServeMux: login and callback (claims, a login hook, step-up),
//     the session cookie, tokens for calling APIs, sign-out, the logout
//     endpoints, the session check, error pages.
//
// A worked example, an application behind one OP:
//
//	ctx := context.Background()
//	client, err := rp.New(ctx, rp.Config{
//		Issuer:                "https://op.example.com",
//		ClientID:              "my-app",
//		ClientSecret:          os.Getenv("CLIENT_SECRET"),
//		RedirectURL:           "https://app.example.com/callback",
//		PostLogoutRedirectURL: "https://app.example.com/logged-out",
//		Scopes:                []string{"openid", "profile", "email"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	auth, err := middleware.New(middleware.Config{
//		Client: client,
//		Key:    cookieKey, // ≥ 32 random bytes shared by all replicas
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	auth.Register(mux) // /login, /callback, /logout, /logged-out, logout endpoints
//	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		s, _ := middleware.SessionFromContext(r.Context())
//		fmt.Fprintf(w, "hello %s", s.Profile().Name)
//	})))
//	log.Fatal(http.ListenAndServe(":8080", mux))
//
// Register the application at the OP with the JSON that
// [middleware.Auth.Registration] returns (also served at
// /.well-known/oidc-client).
package slo
