package jwtclaims

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(` {"iss":"i","sub":"s","sid":"d","aud":["a"],"azp":"a","iat":1,"exp":2,"nbf":0,"jti":"j","events":{},"nonce":null,"x":[1,{"y":"z"}]} `))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"iss": string(c.Iss), "sub": string(c.Sub), "sid": string(c.SID), "aud": string(c.Aud), "azp": string(c.AZP),
		"iat": string(c.IAT), "exp": string(c.Exp), "nbf": string(c.NBF), "jti": string(c.JTI), "events": string(c.Events), "nonce": string(c.Nonce),
	}
	want := map[string]string{
		"iss": `"i"`, "sub": `"s"`, "sid": `"d"`, "aud": `["a"]`, "azp": `"a"`,
		"iat": "1", "exp": "2", "nbf": "0", "jti": `"j"`, "events": "{}", "nonce": "null",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %s, want %s", k, got[k], w)
		}
	}
	c, err = Parse([]byte(`{}`))
	if err != nil || c.Iss != nil || c.Nonce != nil {
		t.Errorf("Parse({}) = %+v, %v", c, err)
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		payload string
		want    error
	}{
		{`[]`, ErrNotObject},
		{`"x"`, ErrNotObject},
		{``, ErrNotObject},
		{`{"a":1} x`, ErrSyntax},
		{`{"a":01}`, ErrSyntax},
		{`{"iss":"a","iss":"b"}`, ErrDuplicate},
		{`{"\u0069ss":"a","iss":"b"}`, ErrDuplicate},
		{`{"nonce":null,"nonce":null}`, ErrDuplicate},
		{strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), ErrDepth},
	}
	for _, tc := range cases {
		if _, err := Parse([]byte(tc.payload)); !errors.Is(err, tc.want) {
			t.Errorf("Parse(%.40s) = %v, want %v", tc.payload, err, tc.want)
		}
	}
}

func TestMember(t *testing.T) {
	cases := []struct {
		obj   string
		val   string
		found bool
		err   error
	}{
		{`{"a":{},"b":1}`, `{}`, true, nil},
		{`{"b":1}`, ``, false, nil},
		{`{"\u0061":true}`, `true`, true, nil},
		{`{"A":true}`, ``, false, nil},
		{`{"a":1,"a":2}`, ``, false, ErrDuplicate},
		{`[]`, ``, false, ErrNotObject},
		{`{"a":1`, ``, false, ErrSyntax},
	}
	for _, tc := range cases {
		val, found, err := Member([]byte(tc.obj), "a")
		if string(val) != tc.val || found != tc.found || !errors.Is(err, tc.err) {
			t.Errorf("Member(%s) = %s, %v, %v; want %s, %v, %v", tc.obj, val, found, err, tc.val, tc.found, tc.err)
		}
	}
}

// rawClaims is Claims as encoding/json fills it: each field matched by
// encoding/json's own (case-insensitive, last-wins) rules.
type rawClaims struct {
	Iss    json.RawMessage `json:"iss"`
	Sub    json.RawMessage `json:"sub"`
	SID    json.RawMessage `json:"sid"`
	Aud    json.RawMessage `json:"aud"`
	AZP    json.RawMessage `json:"azp"`
	IAT    json.RawMessage `json:"iat"`
	Exp    json.RawMessage `json:"exp"`
	NBF    json.RawMessage `json:"nbf"`
	JTI    json.RawMessage `json:"jti"`
	Events json.RawMessage `json:"events"`
	Nonce  json.RawMessage `json:"nonce"`
}

func (c Claims) byName() map[string][]byte {
	return map[string][]byte{
		"iss": c.Iss, "sub": c.Sub, "sid": c.SID, "aud": c.Aud, "azp": c.AZP, "iat": c.IAT,
		"exp": c.Exp, "nbf": c.NBF, "jti": c.JTI, "events": c.Events, "nonce": c.Nonce,
	}
}

func (r rawClaims) byName() map[string][]byte {
	return map[string][]byte{
		"iss": r.Iss, "sub": r.Sub, "sid": r.SID, "aud": r.Aud, "azp": r.AZP, "iat": r.IAT,
		"exp": r.Exp, "nbf": r.NBF, "jti": r.JTI, "events": r.Events, "nonce": r.Nonce,
	}
}

// checkAgreement fails t unless encoding/json reads the same checked claims
// from payload as c (what Parse returned for it): the same member for each,
// and, for a string, the same text.
func checkAgreement(t *testing.T, payload []byte, c Claims) {
	t.Helper()
	var r rawClaims
	if err := json.Unmarshal(payload, &r); err != nil {
		t.Fatalf("Parse accepted what encoding/json refuses: %v", err)
	}
	jsonBy := r.byName()
	for name, got := range c.byName() {
		want := jsonBy[name]
		if (want != nil) != (got != nil) || string(want) != string(got) {
			t.Fatalf("%s: Parse read %q, encoding/json %q", name, got, want)
		}
		if got == nil || got[0] != '"' {
			continue
		}
		s, ok := String(got)
		var js string
		if err := json.Unmarshal(got, &js); !ok || err != nil || s != js {
			t.Fatalf("%s: String = %q (%v), encoding/json %q (%v)", name, s, ok, js, err)
		}
	}
}

// TestAliasOfMatchesEncodingJSON enumerates case and folding variants of
// every checked claim name, and near misses, and compares what Parse
// refuses as an alias with what encoding/json matches to the claim.
func TestAliasOfMatchesEncodingJSON(t *testing.T) {
	variants := func(name string) []string {
		out := []string{""}
		for _, c := range name {
			forms := []string{string(c), strings.ToUpper(string(c))}
			for r := unicode.SimpleFold(c); r != c; r = unicode.SimpleFold(r) {
				if r != unicode.ToUpper(c) {
					forms = append(forms, string(r))
				}
			}
			var next []string
			for _, p := range out {
				for _, f := range forms {
					next = append(next, p+f)
				}
			}
			out = next
		}
		return out
	}
	near := []string{"sid_", "s-id", "sids", "si", "ꜱid", "İss", "ıss", "sid ", " sid", `s\u0000id`, `\u017fid\u0000`, "Kid", `\u212aid`, `aud\ud800`, `\ufffdsid`, `\u017Fid`, "\xffsid", "si\xc5d"}
	names := []string{"iss", "sub", "sid", "aud", "azp", "iat", "exp", "nbf", "jti", "events", "nonce"}
	n := 0
	for _, name := range names {
		for _, key := range append(variants(name), near...) {
			n++
			payload := []byte(`{"` + key + `":"x"}`)
			var r rawClaims
			if err := json.Unmarshal(payload, &r); err != nil {
				t.Fatal(err)
			}
			jsonMatched := r.byName()[name] != nil
			c, err := Parse(payload)
			exact := c.byName()[name] != nil
			alias := errors.Is(err, ErrAlias) && strings.HasSuffix(err.Error(), " "+name)
			if err != nil && !errors.Is(err, ErrAlias) {
				t.Fatalf("Parse(%s): %v", payload, err)
			}
			if jsonMatched != (exact || alias) {
				t.Errorf("key %q: encoding/json matches %s = %v, Parse exact %v alias %v (%v)", key, name, jsonMatched, exact, alias, err)
			}
		}
	}
	if n < 400 {
		t.Fatalf("only %d keys tried", n)
	}
}

func TestParseUTF8(t *testing.T) {
	cases := []struct {
		value string
		ok    bool
	}{
		{`"abc"`, true},
		{`"é😀"`, true},
		{`"\ud83d\ude00"`, true},
		{`"\uD83D\uDE00"`, true},
		{`"\ufffd\u0000"`, true},
		{`"\\ud800"`, true},
		{`["a",{"b":"\u00e9"}]`, true},
		{"\"\xff\"", false},
		{"\"\xed\xa0\x80\"", false},
		{"\"\xc0\xaf\"", false},
		{`"\ud800"`, false},
		{`"\udc00"`, false},
		{`"\ud800x"`, false},
		{`"\ud800\n"`, false},
		{`"\ud800\u0041"`, false},
		{`"\ud800\ud800"`, false},
		{`"\ude00\ud83d"`, false},
		{`["a","\udfff"]`, false},
		{"{\"\xff\":1}", false},
	}
	for _, tc := range cases {
		for _, claim := range []string{"sid", "sub", "iss", "jti", "aud", "events", "nonce"} {
			payload := []byte(`{"` + claim + `":` + tc.value + `}`)
			c, err := Parse(payload)
			if tc.ok {
				if err != nil {
					t.Errorf("Parse(%s) = %v", payload, err)
					continue
				}
				checkAgreement(t, payload, c)
				continue
			}
			if !errors.Is(err, ErrUTF8) || !strings.Contains(err.Error(), claim) {
				t.Errorf("Parse(%s) = %v, want ErrUTF8 naming %s", payload, err, claim)
			}
		}
		// Unchecked claims are not looked at.
		if _, err := Parse([]byte(`{"name":` + tc.value + `}`)); err != nil {
			t.Errorf("Parse of an unchecked claim %s: %v", tc.value, err)
		}
	}
}

// FuzzParse checks the scanner against encoding/json on arbitrary payloads:
// it never panics; it accepts exactly the JSON objects that json.Valid
// accepts and that neither repeat, alias nor hold invalid UTF-8 in a claim
// it reads (nesting deeper than MaxDepth aside); and whatever it accepts,
// encoding/json reads the same claims from, with the same text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"iss":"a","aud":["b"],"iat":1,"events":{"x":{}}}`, `{"a":{"b":[1,"]}"]},"sub":"\u0061"}`,
		`{"iss":"a","iss":"b"}`, ` { "sid" : "x" } `, `[]`, `{"a":1e5,"b":-0.5,"c":true,"d":null}`,
		`{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"\ud800"}`, "{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":tru}`,
		`{"\u0069ss":"x","iss":"y"}`, "{\"a\":\"\xff\"}", `{"a":-}`, `{"a":1e+}`, `{} x`,
		`{"a":"\u00zz"}`, `{"a":"\/\b\f\n\r\t\"\\"}`, `{"a":[}`, `{"a" 1}`, `{"a":1 "b":2}`, `{,}`,
		`{"a":[1 2]}`, `{"a":"x`, `{"a":`, `{"a":[1,2`, `{"a":nul}`, `{"a":false,"b":-0.0e-1}`, `{"a":.5}`,
		`{"sid":"s","ſid":"t"}`, `{"SID":"s"}`, `{"\u017fub":1}`, `{"sid":"\ud800"}`, "{\"sub\":\"\xff\"}",
		`{"sid":"\ud83d\ude00","Kid":1,"\u212aid":2}`, `{"sid":"\\ud800"}`,
		strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70),
		`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := Parse(payload)
		valid := json.Valid(payload)
		if err != nil {
			var m map[string]json.RawMessage
			if !valid || json.Unmarshal(payload, &m) != nil || m == nil {
				return // not a JSON object: rightly refused
			}
			if errors.Is(err, ErrDuplicate) || errors.Is(err, ErrDepth) || errors.Is(err, ErrAlias) || errors.Is(err, ErrUTF8) {
				return
			}
			t.Fatalf("Parse refused a valid object: %v", err)
		}
		if !valid {
			t.Fatalf("Parse accepted invalid JSON")
		}
		checkAgreement(t, payload, c)
	})
}
