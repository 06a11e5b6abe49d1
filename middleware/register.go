package middleware

import "net/http"

// Register mounts the routes on mux with method patterns, at their paths
// under BaseURL (without its path when Config.PrefixStripped is set):
//
//	GET  LoginPath                       LoginHandler
//	GET  path of the client RedirectURL  CallbackHandler (and POST, for form_post)
//	POST LogoutPath                      SignOutHandler
//	GET  path of PostLogoutRedirectURL   LoggedOutHandler (if configured)
//	GET  MetadataPath                    MetadataHandler
//	     BackChannelPath                 BackChannelHandler (POST; it answers other methods with 405)
//	     FrontChannelPath                FrontChannelHandler (GET, HEAD; likewise)
//	GET  SessionCheckPath                SessionCheckHandler (if the OP has a check_session_iframe, or is not discovered yet)
//	GET  SessionCheckPath + ".js"        SessionCheckScriptHandler (likewise)
//	GET  SessionCheckPath + "/recheck"   RecheckHandler (likewise)
//
// Other methods on these paths get 405 from the mux. The application's own
// routes stay the application's: wrap them in LoadSession or RequireLogin.
func (a *Auth) Register(mux *http.ServeMux) {
	mux.Handle("GET "+a.route(a.paths.login), a.LoginHandler())
	mux.Handle("GET "+a.route(a.paths.callback), a.CallbackHandler())
	mux.Handle("POST "+a.route(a.paths.callback), a.CallbackHandler()) // response_mode=form_post
	mux.Handle("POST "+a.route(a.paths.logout), a.SignOutHandler())
	if a.paths.loggedOut != "" {
		mux.Handle("GET "+a.route(a.paths.loggedOut), a.LoggedOutHandler())
	}
	mux.Handle("GET "+a.route(a.paths.metadata), a.MetadataHandler())
	mux.Handle(a.route(a.paths.backChannel), a.BackChannelHandler())
	mux.Handle(a.route(a.paths.frontChannel), a.FrontChannelHandler())
	if _, ok := a.checkSessionFrame(); ok || !a.client.Discovered() {
		mux.Handle("GET "+a.route(a.paths.sessionCheck), a.SessionCheckHandler())
		mux.Handle("GET "+a.route(a.paths.sessionCheckScript), a.SessionCheckScriptHandler())
		mux.Handle("GET "+a.route(a.paths.recheck), a.RecheckHandler())
	}
}
