// Package frontchannel holds slo's real-browser test of OpenID Connect
// Front-Channel Logout: an OP and two applications on different hosts,
// driven through headless chromium. The package has tests only.
package frontchannel
