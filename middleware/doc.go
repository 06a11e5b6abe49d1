// Package middleware is slo's net/http glue: it logs users in through an
// OpenID Provider, keeps their sessions on the server, and ends them through
// every logout channel.
//
// An [Auth] mounts its routes on an [http.ServeMux] with [Auth.Register]
// and guards the application's own handlers with [Auth.RequireLogin] (or
// [Auth.LoadSession] for pages that work either way, or [Auth.Require] for
// routes that need a recent or stronger login):
//
//	client, err := rp.New(ctx, rp.Config{
//		Issuer:                "https://op.example.com",
//		ClientID:              "app",
//		ClientSecret:          secret,
//		RedirectURL:           "https://app.example.com/callback",
//		PostLogoutRedirectURL: "https://app.example.com/logged-out",
//	})
//	...
//	auth, err := middleware.New(middleware.Config{Client: client, Store: store, Key: key})
//	...
//	mux := http.NewServeMux()
//	auth.Register(mux)
//	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(home)))
//
// In a handler, [SessionFromContext] returns the session, with the user's
// claims ([sessionstore.Session.Profile], [sessionstore.Session.Claims]);
// [Auth.HTTPClient] calls APIs with its access token, renewed as needed.
// [Config] says, field by field, what else can be set: the claims kept (the
// ID token's, and with Config.Userinfo the UserInfo endpoint's), a login
// hook, login parameters, a path prefix, the logout options of the
// logout package (nested, spelled once), and more.
//
// RequireLogin sends a browser's navigation without a session to login and
// answers any other request (a script, an API client) 401 with a small
// JSON body ([IsNavigation]).
//
// The browser's cookie holds only a random token; the store keeps the
// session under the token's hash ([SessionID]) and indexes it by the OP's
// issuer, sid and sub, so that logout requests from the OP, which carry no
// usable cookie, still find it. Every login gets a fresh session id.
//
// Sign-out is a POST from the application's own pages; cross-origin
// requests are refused with [http.CrossOriginProtection]. It ends the local
// session first and then redirects to the OP's end-session endpoint with
// id_token_hint, the registered post_logout_redirect_uri and a single-use
// state. Where it returns (return_to) is only ever a same-origin relative
// path: see [ValidReturnTo].
//
// Register also mounts the back-channel and front-channel logout endpoints
// (see [logout.BackChannelHandler] and [logout.FrontChannelHandler]); the
// middleware hands them its store and the means to recognise and clear its
// cookie. [Auth.Registration] is what to register at the OP.
//
// When the OP advertises a check_session_iframe (Session Management 1.0),
// Register also mounts the session check (Config.SessionCheckPath). Put
// auth.SessionCheckSnippet(r.Context()) into the pages of logged-in users: a
// hidden iframe served by the middleware polls the OP's iframe every
// Config.SessionCheckInterval and, when the OP reports a change, re-checks
// with prompt=none in another hidden iframe. The same user keeps the session
// with the new session_state; login_required, another user or an invalid
// answer ends it (a logout.Event on ChannelSessionManagement) and the page
// reloads signed out. An "error" answer never causes prompt=none, re-checks
// are limited to one a minute per tab, and the check stops after three false
// alarms. An error answer that came back to the iframe from a cross-site OP
// (where browsers that block third-party cookies hide the OP's session) is
// confirmed by a top-level re-check before anything is ended.
//
// A logout from the OP that arrives while a login of the same OP session or
// user is under way ends that login too: the logout handlers record each
// logout in the store ([sessionstore.Store.RecordLogout]) before they end
// its sessions, and the callback looks for it after it created the new
// session.
//
// A failing session store never lets a request through as logged in:
// [Auth.RequireLogin] answers 503 and every failure is logged. Errors are
// answered with a small page in plain words (replaceable through
// Config.ErrorHandler).
package middleware
