package rp_test

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

// userinfoJWT returns UserInfo claims for alice signed as the OP would.
func (op *fakeOP) userinfoJWT(edit func(map[string]any), o signOpts) string {
	c := map[string]any{"iss": op.issuer, "aud": testClientID, "sub": "alice", "name": "Alice"}
	if edit != nil {
		edit(c)
	}
	return op.sign(c, o)
}

func TestUserinfo(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	encKey := rsaKey(t)
	ce := op.client(t, func(cfg *rp.Config) {
		cfg.DecryptionKeys = []jose.JSONWebKey{{Key: encKey, KeyID: "enc1", Use: "enc"}}
	})
	encrypt := func(plain string) string {
		enc, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: encKey.Public(), KeyID: "enc1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := enc.Encrypt([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		s, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const jwt = "application/jwt"
	for _, tc := range []struct {
		name, body, typ string
		status          int
		client          *rp.Client
		want            string // the name claim, if accepted
		wantErr         error  // else an error matching this, if not nil
		errHas          string // and containing this
	}{
		{name: "JSON", body: `{"sub":"alice","name":"Alice"}` + "\n", want: "Alice"},
		{name: "JSON with charset", body: `{"sub":"alice","name":"Alice"}`, typ: "application/json; charset=utf-8", want: "Alice"},
		{name: "signed", body: op.userinfoJWT(nil, signOpts{}), typ: jwt, want: "Alice"},
		{name: "signed, aud array", body: op.userinfoJWT(func(c map[string]any) { c["aud"] = []string{"x", testClientID} }, signOpts{}), typ: jwt, want: "Alice"},
		{name: "signed and encrypted", body: encrypt(op.userinfoJWT(nil, signOpts{})), typ: jwt, client: ce, want: "Alice"},
		{name: "encrypted JSON", body: encrypt(`{"sub":"alice","name":"Alice"}`), typ: jwt, client: ce, want: "Alice"},

		{name: "another subject", body: `{"sub":"mallory","name":"Alice"}`, wantErr: rp.ErrInvalidUserinfo, errHas: "sub is not the ID token's"},
		{name: "no sub", body: `{"name":"Alice"}`, wantErr: rp.ErrInvalidUserinfo, errHas: "sub missing"},
		{name: "sub not a string", body: `{"sub":1}`, wantErr: rp.ErrInvalidUserinfo, errHas: "sub missing"},
		{name: "sub repeated", body: `{"sub":"mallory","sub":"alice"}`, wantErr: rp.ErrInvalidUserinfo, errHas: "duplicate"},
		{name: "sub alias", body: `{"sub":"alice","SUB":"mallory"}`, wantErr: rp.ErrInvalidUserinfo, errHas: "folded"},
		{name: "not an object", body: `["alice"]`, wantErr: rp.ErrInvalidUserinfo},
		{name: "not JSON", body: `{"sub":"alice",}`, wantErr: rp.ErrInvalidUserinfo},
		{name: "other content type", body: `{"sub":"alice"}`, typ: "text/plain", wantErr: rp.ErrInvalidUserinfo, errHas: "text/plain"},
		{name: "too large", body: `{"sub":"alice","x":"` + strings.Repeat("a", rp.MaxUserinfoBytes) + `"}`, wantErr: rp.ErrInvalidUserinfo, errHas: "larger"},
		{name: "signed by another key", body: op.userinfoJWT(nil, signOpts{key: rsaKey(t)}), typ: jwt, wantErr: rp.ErrInvalidUserinfo},
		{name: "signed, wrong iss", body: op.userinfoJWT(func(c map[string]any) { c["iss"] = "https://evil.example" }, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "iss"},
		{name: "signed, no iss", body: op.userinfoJWT(func(c map[string]any) { delete(c, "iss") }, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "iss"},
		{name: "signed, wrong aud", body: op.userinfoJWT(func(c map[string]any) { c["aud"] = "other" }, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "aud"},
		{name: "signed, no aud", body: op.userinfoJWT(func(c map[string]any) { delete(c, "aud") }, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "aud"},
		{name: "signed, another subject", body: op.userinfoJWT(func(c map[string]any) { c["sub"] = "mallory" }, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "sub"},
		{name: "signed, alg not allowed", body: op.userinfoJWT(nil, signOpts{alg: jose.ES256, key: ecKey(t)}), typ: jwt, wantErr: rp.ErrInvalidUserinfo},
		{name: "a logout token", body: op.userinfoJWT(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
		}, signOpts{}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "logout token"},
		{name: "typ logout+jwt", body: op.userinfoJWT(nil, signOpts{header: map[jose.HeaderKey]any{"typ": "logout+jwt"}}), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "logout token"},
		{name: "encrypted without keys", body: encrypt(op.userinfoJWT(nil, signOpts{})), typ: jwt, wantErr: rp.ErrInvalidUserinfo, errHas: "DecryptionKeys"},
		{name: "unsigned JWT", body: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", typ: jwt, wantErr: rp.ErrInvalidUserinfo},
		{name: "401", body: "token expired, sorry", status: http.StatusUnauthorized, errHas: "invalid_token"},
		{name: "500", body: "boom", status: http.StatusInternalServerError, errHas: "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.setUserinfo(tc.body, tc.typ, tc.status)
			cl := tc.client
			if cl == nil {
				cl = c
			}
			claims, err := cl.Userinfo(t.Context(), "at-1", "alice")
			if tc.want != "" {
				var got struct{ Sub, Name string }
				if err != nil {
					t.Fatalf("Userinfo: %v", err)
				}
				if jerr := json.Unmarshal(claims, &got); jerr != nil || got.Sub != "alice" || got.Name != tc.want {
					t.Fatalf("claims %s (%v)", claims, jerr)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %s", claims)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v does not match %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, rp.ErrInvalidUserinfo) {
				t.Errorf("error %v matches ErrInvalidUserinfo", err)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not say %q", err, tc.errHas)
			}
			if strings.Contains(err.Error(), "sorry") || strings.Contains(err.Error(), "boom") {
				t.Errorf("error %q echoes the response body", err)
			}
		})
	}
	op.mu.Lock()
	auth := op.userinfoAuth[0]
	op.mu.Unlock()
	if auth != "Bearer at-1" {
		t.Errorf("Authorization = %q, want the bearer access token", auth)
	}
}

func TestUserinfoArguments(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	if _, err := c.Userinfo(t.Context(), "", "alice"); err == nil {
		t.Error("no access token accepted")
	}
	if _, err := c.Userinfo(t.Context(), "at-1", ""); err == nil {
		t.Error("no subject accepted")
	}
	op.setMeta("userinfo_endpoint", nil)
	c = op.client(t)
	if _, err := c.Userinfo(t.Context(), "at-1", "alice"); !errors.Is(err, rp.ErrNoUserinfoEndpoint) {
		t.Errorf("without an endpoint: %v, want ErrNoUserinfoEndpoint", err)
	}
}

// FuzzUserinfo feeds arbitrary UserInfo responses to Userinfo. Whatever it
// accepts is a JSON object whose sub, read by encoding/json as an
// application would read it, is the login's subject; a response of any
// other content type is refused.
func FuzzUserinfo(f *testing.F) {
	op := newFakeOP(f)
	c := op.client(f)
	for _, s := range []struct{ body, typ string }{
		{`{"sub":"alice","name":"Alice"}`, "application/json"},
		{`{"sub":"alice","Sub":"bob"}`, "application/json"},
		{`{"sub":"al\u0069ce"}`, "application/json; charset=utf-8"},
		{`{"sub":"alice"}`, "text/html"},
		{op.userinfoJWT(nil, signOpts{}), "application/jwt"},
		{`{"sub":"alice"} {}`, "application/json"},
		{`{"sub":"al\u0069ce"}`, ""},
	} {
		f.Add(s.body, s.typ)
	}
	f.Fuzz(func(t *testing.T, body, typ string) {
		op.setUserinfo(body, typ, 0)
		claims, err := c.Userinfo(t.Context(), "at-1", "alice")
		if err != nil {
			return
		}
		var got map[string]any
		if err := json.Unmarshal(claims, &got); err != nil {
			t.Fatalf("accepted claims are not a JSON object: %v", err)
		}
		if got["sub"] != "alice" {
			t.Fatalf("accepted claims with sub %v", got["sub"])
		}
		if typ == "" {
			typ = "application/json" // what the fake OP sends then
		}
		if mt, _, _ := mime.ParseMediaType(typ); mt != "application/json" && mt != "application/jwt" {
			t.Fatalf("accepted content type %q", typ)
		}
	})
}
