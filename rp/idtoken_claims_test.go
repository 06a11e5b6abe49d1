package rp_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

// signPayload signs payload byte for byte with the OP key (RS256, kid k1),
// so that it may hold what json.Marshal would not write: invalid UTF-8,
// repeated names.
func (op *fakeOP) signPayload(payload string) string {
	op.t.Helper()
	return signPayload(op.t, op, payload)
}

// signPayload is op.signPayload, failing t instead of op.t (which may be a
// *testing.F, whose methods the fuzz function must not call).
func signPayload(t testing.TB, op *fakeOP, payload string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: op.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawIDPayload returns op.claims(nonce) as JSON without the claims in drop
// and with the raw members extra appended.
func (op *fakeOP) rawIDPayload(nonce string, drop []string, extra ...string) string {
	op.t.Helper()
	m := op.claims(nonce)
	for _, d := range drop {
		delete(m, d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		op.t.Fatal(err)
	}
	s := string(b[:len(b)-1])
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// idClaimCase is an ID token payload and either that Callback refuses it or
// the sub and sid the Result must hold.
type idClaimCase struct {
	name     string
	drop     []string
	extra    []string
	refused  bool
	sub, sid string // when accepted
}

func runIDClaimCases(t *testing.T, cases []idClaimCase) {
	t.Helper()
	op := newFakeOP(t)
	c := op.client(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, st, err := c.Login()
			if err != nil {
				t.Fatal(err)
			}
			extra := make([]string, len(tc.extra))
			for i, e := range tc.extra {
				extra[i] = strings.ReplaceAll(e, "{{nonce}}", st.Nonce)
			}
			raw := op.signPayload(op.rawIDPayload(st.Nonce, tc.drop, extra...))
			op.setIDToken(raw)
			res, err := c.Callback(t.Context(), op.callbackParams(st), st)
			_, verr := c.VerifyIDToken(t.Context(), raw, st.Nonce)
			if tc.refused {
				if err == nil {
					t.Fatalf("Callback accepted it: sub %q sid %q", res.Subject, res.SID)
				}
				if !errors.Is(err, rp.ErrInvalidIDToken) || !errors.Is(verr, rp.ErrInvalidIDToken) {
					t.Errorf("Callback error %v, VerifyIDToken error %v: want ErrInvalidIDToken", err, verr)
				}
				return
			}
			if err != nil || verr != nil {
				t.Fatalf("Callback: %v; VerifyIDToken: %v", err, verr)
			}
			if res.Subject != tc.sub || res.SID != tc.sid {
				t.Errorf("Result sub %q sid %q, want %q %q", res.Subject, res.SID, tc.sub, tc.sid)
			}
			// encoding/json (what an application reading IDToken.Claims
			// uses) sees the same.
			var cl struct {
				Sub string `json:"sub"`
				SID string `json:"sid"`
			}
			if err := res.IDToken.Claims(&cl); err != nil || cl.Sub != res.Subject || cl.SID != res.SID || res.IDToken.Subject != res.Subject {
				t.Errorf("IDToken.Claims sub %q sid %q (%v), IDToken.Subject %q; Result %q %q", cl.Sub, cl.SID, err, res.IDToken.Subject, res.Subject, res.SID)
			}
		})
	}
}

// TestIDTokenB36InvalidUTF8 is B-36 on the ID-token path: sid, sub, iss,
// jti and aud must be valid UTF-8, raw and through escapes, so that no
// session is stored under a value the logout-token path reads differently.
func TestIDTokenB36InvalidUTF8(t *testing.T) {
	runIDClaimCases(t, []idClaimCase{
		{name: "sid raw 0xff", drop: []string{"sid"}, extra: []string{"\"sid\":\"sid-1\xff\""}, refused: true},
		{name: "sid lone surrogate escape", drop: []string{"sid"}, extra: []string{`"sid":"sid-1\ud800"`}, refused: true},
		{name: "sid lone low surrogate escape", drop: []string{"sid"}, extra: []string{`"sid":"\udc00"`}, refused: true},
		{name: "sid encoded surrogate (CESU-8)", drop: []string{"sid"}, extra: []string{"\"sid\":\"\xed\xa0\x80\""}, refused: true},
		{name: "sub raw 0xfe", drop: []string{"sub"}, extra: []string{"\"sub\":\"alice\xfe\""}, refused: true},
		{name: "sub lone surrogate escape", drop: []string{"sub"}, extra: []string{`"sub":"alice\udbff"`}, refused: true},
		{name: "jti raw 0x80", extra: []string{"\"jti\":\"j\x80\""}, refused: true},
		{name: "aud array element lone surrogate", drop: []string{"aud"}, extra: []string{`"aud":["app","\udfff"]`, `"azp":"app"`}, refused: true},
		{name: "sid surrogate pair escape", drop: []string{"sid"}, extra: []string{`"sid":"sid-\ud83d\ude00"`}, sub: "alice", sid: "sid-😀"},
		{name: "sid escaped U+FFFD", drop: []string{"sid"}, extra: []string{`"sid":"sid-\ufffd"`}, sub: "alice", sid: "sid-\ufffd"},
		{name: "invalid UTF-8 in an unchecked claim", extra: []string{"\"name\":\"\xff\""}, sub: "alice", sid: "sid-1"},
	})
}

// TestIDTokenB37ClaimAliases is B-37 on the ID-token path: a case- or
// Unicode-folded variant of a checked claim, or a checked claim twice, is
// refused; sub and sid are read exactly, never through encoding/json's
// folding and last-duplicate-wins matching.
func TestIDTokenB37ClaimAliases(t *testing.T) {
	runIDClaimCases(t, []idClaimCase{
		{name: "long s sid beside sid", extra: []string{`"ſid":"victim"`}, refused: true},
		{name: "escaped long s sid beside sid", extra: []string{`"\u017fid":"victim"`}, refused: true},
		{name: "SID beside sid", extra: []string{`"SID":"victim"`}, refused: true},
		{name: "Sid instead of sid", drop: []string{"sid"}, extra: []string{`"Sid":"victim"`}, refused: true},
		{name: "SUB beside sub", extra: []string{`"SUB":"mallory"`}, refused: true},
		{name: "long s ub instead of sub", drop: []string{"sub"}, extra: []string{`"ſub":"mallory"`}, refused: true},
		{name: "Nonce instead of nonce", drop: []string{"nonce"}, extra: []string{`"Nonce":"{{nonce}}"`}, refused: true},
		{name: "ISS beside iss", extra: []string{`"ISS":"https://evil.example"`}, refused: true},
		{name: "AUD beside aud", extra: []string{`"AUD":"app"`}, refused: true},
		{name: "Exp beside exp", extra: []string{`"Exp":1`}, refused: true},
		{name: "iAt beside iat", extra: []string{`"iAt":1`}, refused: true},
		{name: "JTI", extra: []string{`"jti":"j"`, `"JTI":"k"`}, refused: true},
		{name: "AZP", extra: []string{`"AZP":"other"`}, refused: true},
		{name: "Events", extra: []string{`"Events":{}`}, refused: true},
		{name: "duplicate sid", extra: []string{`"sid":"victim"`}, refused: true},
		{name: "duplicate sub", extra: []string{`"sub":"mallory"`}, refused: true},
		{name: "duplicate iss", extra: []string{`"iss":"https://evil.example"`}, refused: true},
		{name: "sid_ is another claim", extra: []string{`"sid_":"x"`}, sub: "alice", sid: "sid-1"},
		{name: "small capital s (U+A731) is another claim", extra: []string{`"ꜱid":"x"`}, sub: "alice", sid: "sid-1"},
		{name: "escaped sid name is sid", drop: []string{"sid"}, extra: []string{`"s\u0069d":"sid-2"`}, sub: "alice", sid: "sid-2"},
	})
}

// TestRefreshB37: a refreshed ID token with a folded alias of sid is refused
// too; the session keeps no sid read through the alias.
func TestRefreshB37(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	op.setIDToken(op.signPayload(op.rawIDPayload("", []string{"nonce"}, `"ſid":"victim"`)))
	res, err := c.Refresh(t.Context(), "rt-1", "alice")
	if !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("Refresh = %+v, %v; want ErrInvalidIDToken", res, err)
	}
}

// FuzzIDTokenClaims signs arbitrary payloads with the OP's key and completes
// a login with each. Nothing may panic; a refusal wraps ErrInvalidIDToken;
// and an accepted token's Result holds the sub and sid that encoding/json
// (IDToken.Claims, and go-oidc's own IDToken.Subject) reads from it too.
func FuzzIDTokenClaims(f *testing.F) {
	op := newFakeOP(f)
	c := op.client(f)
	st := &rp.LoginState{Issuer: op.issuer, State: "STATE", Nonce: "NONCE", CodeVerifier: "verifier-verifier-verifier-verifier-verifier"}
	valid := op.rawIDPayload("NONCE", nil)
	for _, s := range []string{
		valid,
		op.rawIDPayload("NONCE", nil, `"ſid":"victim"`),
		op.rawIDPayload("NONCE", nil, `"SUB":"mallory"`),
		op.rawIDPayload("NONCE", []string{"sid"}, `"sid":"\ud800"`),
		op.rawIDPayload("NONCE", []string{"sid"}, "\"sid\":\"s\xff\""),
		op.rawIDPayload("NONCE", []string{"sid"}, `"sid":"\ud83d\ude00"`),
		op.rawIDPayload("NONCE", []string{"sub"}, `"s\u0075b":"bob"`),
		op.rawIDPayload("NONCE", nil, `"sid":"again"`),
		op.rawIDPayload("NONCE", nil, `"events":{}`),
		`{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	params := op.callbackParams(st)
	f.Fuzz(func(t *testing.T, payload []byte) {
		op.setIDToken(signPayload(t, op, string(payload)))
		res, err := c.Callback(t.Context(), params, st)
		if err != nil {
			if !errors.Is(err, rp.ErrInvalidIDToken) {
				t.Fatalf("error %v does not wrap ErrInvalidIDToken", err)
			}
			return
		}
		var cl struct {
			Sub string `json:"sub"`
			SID string `json:"sid"`
		}
		if err := res.IDToken.Claims(&cl); err != nil {
			t.Fatalf("IDToken.Claims: %v", err)
		}
		if cl.Sub != res.Subject || cl.SID != res.SID || res.IDToken.Subject != res.Subject || res.Subject == "" {
			t.Fatalf("Result sub %q sid %q; encoding/json sub %q sid %q; go-oidc sub %q", res.Subject, res.SID, cl.Sub, cl.SID, res.IDToken.Subject)
		}
	})
}
