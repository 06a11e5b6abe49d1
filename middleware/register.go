package middleware

import "net/http"

// Register mounts the middleware's routes on mux with method patterns:
//
//	GET  LoginPath                       LoginHandler
//	GET  path of the client RedirectURL  CallbackHandler
//	POST LogoutPath                      SignOutHandler
//	GET  path of PostLogoutRedirectURL   LoggedOutHandler (if configured)
//	GET  MetadataPath                    MetadataHandler
//	     BackChannelPath                 BackChannelHandler (POST; it answers other methods with 405)
//	     FrontChannelPath                FrontChannelHandler (GET, HEAD; likewise)
//	GET  SessionCheckPath                SessionCheckHandler (if the OP has a check_session_iframe)
//	GET  SessionCheckScriptPath          SessionCheckScriptHandler (likewise)
//
// Other methods on these paths get 405 from the mux. The application's own
// routes stay the application's: wrap them in LoadSession or RequireLogin.
func (m *Middleware) Register(mux *http.ServeMux) {
	mux.Handle("GET "+m.paths.login, m.LoginHandler())
	mux.Handle("GET "+m.paths.callback, m.CallbackHandler())
	mux.Handle("POST "+m.paths.logout, m.SignOutHandler())
	if m.paths.loggedOut != "" {
		mux.Handle("GET "+m.paths.loggedOut, m.LoggedOutHandler())
	}
	mux.Handle("GET "+m.paths.metadata, m.MetadataHandler())
	mux.Handle(m.paths.backChannel, m.BackChannelHandler())
	mux.Handle(m.paths.frontChannel, m.FrontChannelHandler())
	if _, ok := m.checkSessionFrame(); ok {
		mux.Handle("GET "+SessionCheckPath, m.SessionCheckHandler())
		mux.Handle("GET "+SessionCheckScriptPath, m.SessionCheckScriptHandler())
	}
}
