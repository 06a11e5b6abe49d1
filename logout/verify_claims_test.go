package logout

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// rawPayload returns validClaims(issA, clientA) as JSON without the claims
// in drop and with the raw members extra appended, byte for byte (so that
// they may hold invalid UTF-8, which json.Marshal would replace).
func rawPayload(t testing.TB, drop []string, extra ...string) string {
	t.Helper()
	m := validClaims(issA, clientA)
	for _, d := range drop {
		delete(m, d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b[:len(b)-1])
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// claimCase is a logout token payload and whether the verifier must refuse
// it as malformed.
type claimCase struct {
	name    string
	drop    []string
	extra   []string
	refused bool
}

// b36Cases are B-36: sid, sub, iss, jti and aud must be valid UTF-8, as raw
// bytes and through escapes (RFC 8259 §8.1), where encoding/json would turn
// the bad bytes into U+FFFD and the scanner used to keep them.
var b36Cases = []claimCase{
	{name: "sid raw 0xff", drop: []string{"sid"}, extra: []string{"\"sid\":\"sid-1\xff\""}, refused: true},
	{name: "sid lone high surrogate escape", drop: []string{"sid"}, extra: []string{`"sid":"sid-1\ud800"`}, refused: true},
	{name: "sid lone low surrogate escape", drop: []string{"sid"}, extra: []string{`"sid":"\udc00sid-1"`}, refused: true},
	{name: "sid high surrogate then a letter", drop: []string{"sid"}, extra: []string{`"sid":"\ud800\u0041"`}, refused: true},
	{name: "sid reversed surrogate pair", drop: []string{"sid"}, extra: []string{`"sid":"\ude00\ud83d"`}, refused: true},
	{name: "sid encoded surrogate (CESU-8)", drop: []string{"sid"}, extra: []string{"\"sid\":\"\xed\xa0\x80\""}, refused: true},
	{name: "sid overlong slash", drop: []string{"sid"}, extra: []string{"\"sid\":\"\xc0\xaf\""}, refused: true},
	{name: "sid truncated sequence", drop: []string{"sid"}, extra: []string{"\"sid\":\"s\xe2\x82\""}, refused: true},
	{name: "sub raw 0xfe", drop: []string{"sub"}, extra: []string{"\"sub\":\"alice\xfe\""}, refused: true},
	{name: "sub lone surrogate escape", drop: []string{"sub"}, extra: []string{`"sub":"alice\udbff"`}, refused: true},
	{name: "iss raw 0xff", drop: []string{"iss"}, extra: []string{"\"iss\":\"" + issA + "\xff\""}, refused: true},
	{name: "iss lone surrogate escape", drop: []string{"iss"}, extra: []string{`"iss":"` + issA + `\ud800"`}, refused: true},
	{name: "jti raw 0x80", drop: []string{"jti"}, extra: []string{"\"jti\":\"j\x80\""}, refused: true},
	{name: "jti lone surrogate escape", drop: []string{"jti"}, extra: []string{`"jti":"\ud800"`}, refused: true},
	{name: "aud raw invalid", drop: []string{"aud"}, extra: []string{"\"aud\":\"" + clientA + "\xff\""}, refused: true},
	{name: "aud array element lone surrogate", drop: []string{"aud"}, extra: []string{`"aud":["` + clientA + `","\udfff"]`}, refused: true},
	// Valid UTF-8, including what looks like it might not be.
	{name: "sid surrogate pair escape", drop: []string{"sid"}, extra: []string{`"sid":"sid-\ud83d\ude00"`}},
	{name: "sid raw emoji", drop: []string{"sid"}, extra: []string{`"sid":"sid-😀"`}},
	{name: "sid escaped U+FFFD", drop: []string{"sid"}, extra: []string{`"sid":"sid-\ufffd"`}},
	{name: "sid raw U+FFFD", drop: []string{"sid"}, extra: []string{"\"sid\":\"sid-\xef\xbf\xbd\""}},
	{name: "sid escaped backslash before u", drop: []string{"sid"}, extra: []string{`"sid":"sid-\\ud800"`}},
	{name: "unchecked claim with invalid UTF-8 is ignored", extra: []string{"\"name\":\"\xff\\ud800\""}},
}

// b37Cases are B-37: a claim the verifier checks must not also come under a
// name that encoding/json (Token.Claims, go-oidc) matches to it
// case-insensitively or by Unicode simple folding (ſ U+017F folds to s, the
// Kelvin sign to k), nor twice; other names are left alone.
var b37Cases = []claimCase{
	{name: "SID beside sid", extra: []string{`"SID":"victim"`}, refused: true},
	{name: "Sid instead of sid", drop: []string{"sid"}, extra: []string{`"Sid":"sid-1"`}, refused: true},
	{name: "long s sid beside sid", extra: []string{`"ſid":"victim"`}, refused: true},
	{name: "escaped long s sid beside sid", extra: []string{`"\u017fid":"victim"`}, refused: true},
	{name: "long s sid instead of sid", drop: []string{"sid"}, extra: []string{`"ſid":"sid-1"`}, refused: true},
	{name: "SUB beside sub", extra: []string{`"SUB":"bob"`}, refused: true},
	{name: "long s ub", extra: []string{`"ſub":"bob"`}, refused: true},
	{name: "ISS", extra: []string{`"ISS":"` + issB + `"`}, refused: true},
	{name: "iſs", extra: []string{`"iſs":"` + issB + `"`}, refused: true},
	{name: "Aud", extra: []string{`"Aud":"other"`}, refused: true},
	{name: "aZp", extra: []string{`"aZp":"other"`}, refused: true},
	{name: "EXP", extra: []string{`"EXP":1`}, refused: true},
	{name: "Iat", extra: []string{`"Iat":1`}, refused: true},
	{name: "NBF", extra: []string{`"NBF":99999999999`}, refused: true},
	{name: "Jti", extra: []string{`"Jti":"other"`}, refused: true},
	{name: "Events", extra: []string{`"Events":{}`}, refused: true},
	{name: "eventſ", extra: []string{`"eventſ":{}`}, refused: true},
	{name: "Nonce instead of nonce", extra: []string{`"Nonce":"n"`}, refused: true},
	{name: "NONCE null", extra: []string{`"NONCE":null`}, refused: true},
	{name: "duplicate sid", extra: []string{`"sid":"victim"`}, refused: true},
	{name: "duplicate jti", extra: []string{`"jti":"other"`}, refused: true},
	// Names encoding/json does not match to a checked claim.
	{name: "sid_ is another claim", extra: []string{`"sid_":"x"`}},
	{name: "s-id is another claim", extra: []string{`"s-id":"x"`}},
	{name: "sids is another claim", extra: []string{`"sids":"x"`}},
	{name: "small capital s (U+A731) is another claim", extra: []string{`"ꜱid":"x"`}},
	{name: "dotted capital I (U+0130) is another claim", extra: []string{`"İss":"x"`}},
	{name: "sid with trailing space is another claim", extra: []string{`"sid ":"x"`}},
}

func runClaimCases(t *testing.T, cases []claimCase) {
	t.Helper()
	v := newTestVerifier(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tok{payload: rawPayload(t, tc.drop, tc.extra...)}.mint(t)
			got, err := v.Verify(t.Context(), raw)
			if !tc.refused {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted it: %v", got)
			}
			if r := reasonOf(err); r != ReasonMalformed {
				t.Errorf("reason = %q (%v), want %q", r, err, ReasonMalformed)
			}
		})
	}
}

// TestVerifyB36InvalidUTF8 is B-36 on the logout-token path.
func TestVerifyB36InvalidUTF8(t *testing.T) { runClaimCases(t, b36Cases) }

// TestVerifyB37ClaimAliases is B-37 on the logout-token path.
func TestVerifyB37ClaimAliases(t *testing.T) { runClaimCases(t, b37Cases) }

// TestVerifyB37ClaimsAgree: for an accepted token, Token.Claims (encoding/json)
// sees the same sid, sub, iss and jti as the verifier.
func TestVerifyB37ClaimsAgree(t *testing.T) {
	v := newTestVerifier(t, nil)
	raw := tok{payload: rawPayload(t, []string{"sid"}, `"s\u0069d":"sid-\u00e9"`, `"sid_":"x"`, `"ꜱid":"y"`)}.mint(t)
	got, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		SID string `json:"sid"`
		JTI string `json:"jti"`
	}
	if err := got.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Iss != got.Issuer || c.Sub != got.Subject || c.SID != got.SID || c.JTI != got.JTI || got.SID != "sid-é" {
		t.Errorf("Claims = %+v, token = %v", c, got)
	}
}

// TestBackChannelB36B37 sends B-36 and B-37 tokens through the handler:
// 400, and no session ends, not even the one the token's sid names.
func TestBackChannelB36B37(t *testing.T) {
	for _, tc := range slices.Concat(b36Cases, b37Cases) {
		if !tc.refused {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f := newHandlerFixture(t, nil, nil)
			raw := tok{payload: rawPayload(t, tc.drop, tc.extra...)}.mint(t)
			rec := f.serve(t, bcRequest{}.build(t.Context(), raw))
			checkResponse(t, rec, http.StatusBadRequest)
			if got := surviving(t, f.store); !slices.Equal(got, allSessionIDs()) {
				t.Errorf("surviving = %q, want all", got)
			}
			if evs := f.events.list(); len(evs) != 1 || reasonOf(evs[0].Err) != ReasonMalformed {
				t.Errorf("events = %+v, want one refused as %s", evs, ReasonMalformed)
			}
			if strings.Contains(f.logs.String(), "victim") {
				t.Errorf("logs show a claim value: %s", f.logs)
			}
		})
	}
}
