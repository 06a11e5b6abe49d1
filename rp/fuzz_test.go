package rp_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/oidc-slo/slo/rp"
)

// FuzzCallback feeds arbitrary authorization responses to Callback. Whatever
// the input, a response without exactly the expected state must fail with
// ErrState, and a success needs the right state, iss and a code.
func FuzzCallback(f *testing.F) {
	op := newFakeOP(f)
	c := op.client(f)
	st := &rp.LoginState{Issuer: op.issuer, State: "STATE", Nonce: "NONCE", CodeVerifier: "verifier-verifier-verifier-verifier-verifier"}
	op.setIDToken(op.sign(op.claims("NONCE"), signOpts{}))
	iss := url.QueryEscape(op.issuer)

	f.Add("code=c&state=STATE&iss=" + iss)
	f.Add("code=c&state=STATE")
	f.Add("code=c&state=STATE&state=STATE&iss=" + iss)
	f.Add("error=access_denied&state=STATE&iss=" + iss)
	f.Add("error=&state=STATE&iss=" + iss + "&session_state=x")
	f.Add("error=access_denied&state=OTHER")
	f.Add("code=&state=STATE&iss=" + iss)
	f.Add("state=%53TATE&code=c&iss=" + iss)
	f.Add("code=c&state=STATE&iss=" + iss + "%2F")
	f.Add("")
	f.Add(";;&&==%zz")

	f.Fuzz(func(t *testing.T, raw string) {
		params, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		res, err := c.Callback(t.Context(), params, st)
		stateOK := len(params["state"]) == 1 && params.Get("state") == "STATE"
		if !stateOK {
			if !errors.Is(err, rp.ErrState) {
				t.Fatalf("bad state %q: error %v, want ErrState", params["state"], err)
			}
			return
		}
		var ae *rp.AuthError
		if errors.As(err, &ae) && (params.Get("iss") != op.issuer || !params.Has("error")) {
			t.Fatalf("AuthError for %q", raw)
		}
		if err == nil {
			if res == nil || res.Subject != "alice" || params.Get("iss") != op.issuer || params.Get("code") == "" || params.Has("error") {
				t.Fatalf("success for %q: %+v", raw, res)
			}
		}
	})
}
