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
//   - [github.com/oidc-slo/slo/rp]: the OpenID Connect client: discovery,
//     login with PKCE, ID token verification, the end-session request.
//   - [github.com/oidc-slo/slo/sessionstore]: the session record and the
//     Store contract; memstore is the in-memory store, and the separate
//     modules redisstore and pgstore share sessions between replicas.
//   - [github.com/oidc-slo/slo/logout]: logout token verification, the
//     back-channel and front-channel handlers, the replay cache, logout
//     events.
//   - [github.com/oidc-slo/slo/middleware]: net/http glue that puts it all
//     on a ServeMux.
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
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	m, err := middleware.New(middleware.Config{
//		Client: client,
//		Key:    cookieKey, // 32 random bytes shared by all replicas
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	m.Register(mux) // /login, /callback, /logout, /logged-out, logout endpoints
//	mux.Handle("GET /{$}", m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		s, _ := middleware.SessionFromContext(r.Context())
//		fmt.Fprintf(w, "hello %s", s.Subject)
//	})))
//	log.Fatal(http.ListenAndServe(":8080", mux))
//
// Register the application at the OP with the JSON that
// [middleware.Middleware.Registration] returns (also served at
// /.well-known/oidc-client).
package slo
