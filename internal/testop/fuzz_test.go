package testop

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzAppendQuery checks that parameters appended to a registered URI
// (front-channel iss/sid, post-logout state, authorization responses)
// decode back to the same values and leave the URI's own query intact.
func FuzzAppendQuery(f *testing.F) {
	f.Add("http://rp.example/fcl?tenant=a%20b", `s p&c#d%e+f"g'<h>`)
	f.Add("http://rp.example/fcl", "")
	f.Add("http://rp.example/fcl?", "x")
	f.Add("http://rp.example/fcl?a=1&", "\x00\xff日本")
	f.Fuzz(func(t *testing.T, base, v string) {
		u, err := url.Parse(base)
		if err != nil || !u.IsAbs() || strings.Contains(base, "#") {
			t.Skip()
		}
		before, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Skip()
		}
		got := appendQuery(base, url.Values{"sid": {v}, "iss": {"http://op.example"}})
		if !strings.HasPrefix(got, base) {
			t.Fatalf("%q does not start with %q", got, base)
		}
		pu, err := url.Parse(got)
		if err != nil {
			t.Fatalf("result %q does not parse: %v", got, err)
		}
		q, err := url.ParseQuery(pu.RawQuery)
		if err != nil {
			t.Fatalf("query of %q: %v", got, err)
		}
		if s := q["sid"]; len(s) == 0 || s[len(s)-1] != v {
			t.Fatalf("sid %q, want %q (in %q)", q["sid"], v, got)
		}
		for k, vs := range before {
			if len(q[k]) < len(vs) {
				t.Fatalf("lost existing parameter %q in %q", k, got)
			}
		}
	})
}

// FuzzVerifyOwn feeds id_token_hint parsing arbitrary input: it must never
// panic, and must accept only what this OP signed.
func FuzzVerifyOwn(f *testing.F) {
	op, err := New(Config{Issuer: "http://op.example", Clients: []Client{{ID: "hs", Secret: strings.Repeat("k", 32), IDTokenSigningAlg: "HS256"}}})
	if err != nil {
		f.Fatal(err)
	}
	defer op.Close()
	claims := map[string]any{"iss": "http://op.example", "sub": "alice", "aud": "app"}
	valid := op.SignIDToken(claims)
	f.Add(valid)
	f.Add(op.SignIDToken(claims, WithAlg("ES256")))
	f.Add(op.SignIDToken(map[string]any{"iss": "http://op.example", "sub": "alice", "aud": []string{"hs"}}, WithAlg("HS256")))
	f.Add(op.SignIDToken(claims, WithAlg("none")))
	f.Add(op.SignIDToken(claims, WithKey(op.ForeignKey())))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := op.verifyOwn(raw)
		if err != nil {
			return
		}
		if c["iss"] != "http://op.example" {
			t.Fatalf("accepted %q with iss %v", raw, c["iss"])
		}
	})
}
