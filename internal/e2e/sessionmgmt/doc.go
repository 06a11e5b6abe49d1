// Package sessionmgmt holds slo's real-browser tests of OpenID Connect
// Session Management 1.0: the middleware's RP iframe polling testop's
// check_session_iframe in headless chromium, the prompt=none re-check on
// "changed", and the messages it must ignore. The package has tests only.
package sessionmgmt
