package jwtclaims

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
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

// FuzzParse checks the scanner against encoding/json on arbitrary payloads:
// it never panics; it accepts exactly the JSON objects that json.Valid
// accepts and that repeat none of the claims it reads (nesting deeper than
// MaxDepth aside); and the claims it finds are the ones encoding/json finds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"iss":"a","aud":["b"],"iat":1,"events":{"x":{}}}`, `{"a":{"b":[1,"]}"]},"sub":"\u0061"}`,
		`{"iss":"a","iss":"b"}`, ` { "sid" : "x" } `, `[]`, `{"a":1e5,"b":-0.5,"c":true,"d":null}`,
		`{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"\ud800"}`, "{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":tru}`,
		`{"\u0069ss":"x","iss":"y"}`, "{\"a\":\"\xff\"}", `{"a":-}`, `{"a":1e+}`, `{} x`,
		`{"a":"\u00zz"}`, `{"a":"\/\b\f\n\r\t\"\\"}`, `{"a":[}`, `{"a" 1}`, `{"a":1 "b":2}`, `{,}`,
		`{"a":[1 2]}`, `{"a":"x`, `{"a":`, `{"a":[1,2`, `{"a":nul}`, `{"a":false,"b":-0.0e-1}`, `{"a":.5}`,
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
			if errors.Is(err, ErrDuplicate) || errors.Is(err, ErrDepth) {
				return
			}
			t.Fatalf("Parse refused a valid object: %v", err)
		}
		if !valid {
			t.Fatalf("Parse accepted invalid JSON")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("Parse accepted what encoding/json refuses: %v", err)
		}
		for name, got := range map[string][]byte{
			"iss": c.Iss, "sub": c.Sub, "sid": c.SID, "aud": c.Aud, "azp": c.AZP, "iat": c.IAT,
			"exp": c.Exp, "nbf": c.NBF, "jti": c.JTI, "events": c.Events, "nonce": c.Nonce,
		} {
			want, ok := m[name]
			if ok != (got != nil) {
				t.Fatalf("%s: presence %v, encoding/json says %v", name, got != nil, ok)
			}
			if ok && string(want) != string(got) {
				t.Fatalf("%s = %s, encoding/json says %s", name, got, want)
			}
		}
	})
}
