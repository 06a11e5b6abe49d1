package rptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidc-slo/slo/internal/testop"
)

// Delivery is one back-channel logout POST and what the application
// answered.
type Delivery struct {
	// ClientID is the client notified.
	ClientID string
	// URL is its backchannel_logout_uri.
	URL string
	// Status is the HTTP status the application answered (Back-Channel
	// Logout 1.0 §2.8: 200 when it logged the user out, 400 when it
	// refused the token), or 0 if there was no answer.
	Status int
	// Err is why there was no answer, or nil.
	Err error
	// LogoutToken is the logout token sent, for replaying it.
	LogoutToken string
}

// Logout is one logout that the OP carried out: the OP sessions it ended
// and how it told the applications that had signed in through them.
type Logout struct {
	// SIDs are the sids of the OP sessions ended, sorted.
	SIDs []string
	// BackChannel holds one Delivery per application with a
	// backchannel_logout_uri, made before the call that ended the
	// sessions returned (or before the browser was sent on).
	BackChannel []Delivery
	// FrontChannelURLs are the frontchannel_logout_uri values, with iss and
	// sid for applications that require them, that the OP's logout page
	// loads in iframes. Nobody has loaded them: GET them with the browser
	// to test front-channel logout.
	FrontChannelURLs []string
	// PostLogoutRedirectURL is where the OP's logout page sends the browser
	// after the front-channel iframes, state included, for a logout started
	// by the application (RP-Initiated Logout) with a registered
	// post_logout_redirect_uri; otherwise empty.
	PostLogoutRedirectURL string
}

// EndSession is "the user logged out at the OP": it ends every OP session
// of the user subOrSID (or the one OP session with that sid), POSTs a
// logout token to every application that signed in through them and has a
// backchannel_logout_uri, and returns when all have answered. Its zero
// Logout means there was no session to end.
func (s *Server) EndSession(ctx context.Context, subOrSID string) Logout {
	return convertLogout(s.op.EndSessionLogout(ctx, subOrSID))
}

// Logouts returns every logout so far that ended an OP session, oldest
// first: those of EndSession, and those started in a browser at the OP's
// end-session endpoint, typically by an application's sign-out.
func (s *Server) Logouts() []Logout {
	var out []Logout
	for _, lo := range s.op.Logouts() {
		out = append(out, convertLogout(lo))
	}
	return out
}

// SendLogoutToken POSTs token, as the OP does, to the back-channel logout
// URI of the registered client clientID, and returns what the application
// answered. Tokens from LogoutToken test how the application handles them.
func (s *Server) SendLogoutToken(ctx context.Context, clientID, token string) Delivery {
	d := Delivery{ClientID: clientID, LogoutToken: token}
	c, ok := s.client(clientID)
	switch {
	case !ok:
		d.Err = fmt.Errorf("rptest: no client %q is registered", clientID)
		return d
	case c.BackChannelLogoutURI == "":
		d.Err = fmt.Errorf("rptest: client %q has no backchannel_logout_uri", clientID)
		return d
	}
	d.URL = c.BackChannelLogoutURI
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(body))
	if err != nil {
		d.Err = fmt.Errorf("rptest: back-channel request: %w", err)
		return d
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		d.Err = fmt.Errorf("rptest: back-channel POST: %w", err)
		return d
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only the status matters
	d.Status = resp.StatusCode
	return d
}

func convertLogout(lo testop.Logout) Logout {
	out := Logout{
		SIDs:                  slices.Sorted(slices.Values(lo.SIDs)),
		FrontChannelURLs:      slices.Clone(lo.FrontChannelURLs),
		PostLogoutRedirectURL: lo.PostLogoutRedirectURI,
	}
	for _, d := range lo.Deliveries {
		out.BackChannel = append(out.BackChannel, Delivery{
			ClientID: d.ClientID, URL: d.URI, Status: d.Status, Err: d.Err, LogoutToken: d.LogoutToken,
		})
	}
	return out
}
