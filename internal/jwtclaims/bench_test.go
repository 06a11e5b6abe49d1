package jwtclaims

import (
	"encoding/json"
	"testing"
	"time"
)

// The payloads BenchmarkParse reads: a logout token as OPs send it, and an
// ID token with the usual profile claims besides the ones slo checks.
var benchPayloads = []struct{ name, payload string }{
	{"logout-token", `{"iss":"https://op.example.com","aud":"client-a","iat":1800000000,"exp":1800000120,` +
		`"jti":"P4RZQH6MWCPZ4C5ETJFIQ7NKVK","sub":"248289761001","sid":"08a5019c-17e1-4977-8f42-65a12843ea02",` +
		`"events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`},
	{"id-token", `{"iss":"https://op.example.com","sub":"248289761001","aud":"client-a","exp":1800000300,` +
		`"iat":1800000000,"auth_time":1799999990,"nonce":"n-0S6_WzA2Mj","at_hash":"77QmUPtjPfzWtF2AnpK9RQ",` +
		`"sid":"08a5019c-17e1-4977-8f42-65a12843ea02","azp":"client-a","name":"Jane Doe","given_name":"Jane",` +
		`"family_name":"Doe","email":"janedoe@example.com","email_verified":true,"locale":"en-GB"}`},
}

// scanned is what the scanner side produces: every checked claim read and
// decoded, as the logout verifier and rp use them.
type scanned struct {
	iss, sub, sid, jti, azp, nonce string
	aud                            []string
	iat, exp                       time.Time
	event                          bool
}

func scanSide(payload []byte) (scanned, error) {
	var s scanned
	c, err := Parse(payload)
	if err != nil {
		return s, err
	}
	s.iss, _ = String(c.Iss)
	s.sub, _ = String(c.Sub)
	s.sid, _ = String(c.SID)
	s.jti, _ = String(c.JTI)
	s.azp, _ = String(c.AZP)
	s.nonce, _ = String(c.Nonce)
	s.aud, _ = Audience(c.Aud)
	s.iat, _ = NumericDate(c.IAT)
	s.exp, _ = NumericDate(c.Exp)
	if c.Events != nil {
		_, s.event, err = Member(c.Events, "http://schemas.openid.net/event/backchannel-logout")
	}
	return s, err
}

// jsonClaims is the encoding/json side: the same claims into a struct, as
// go-oidc decodes an ID token. encoding/json cannot refuse a repeated claim.
type jsonClaims struct {
	Iss    string                     `json:"iss"`
	Sub    string                     `json:"sub"`
	SID    string                     `json:"sid"`
	Aud    json.RawMessage            `json:"aud"` // a string or an array
	AZP    *string                    `json:"azp"`
	IAT    json.Number                `json:"iat"`
	Exp    json.Number                `json:"exp"`
	NBF    json.Number                `json:"nbf"`
	JTI    string                     `json:"jti"`
	Events map[string]json.RawMessage `json:"events"`
	Nonce  *string                    `json:"nonce"`
}

func jsonSide(payload []byte) (jsonClaims, error) {
	var c jsonClaims
	err := json.Unmarshal(payload, &c)
	return c, err
}

// BenchmarkParse measures the claim scanner (Parse, then every checked claim
// decoded) against encoding/json decoding the same payload into a struct
// with the same claims, in the same run: each iteration times a batch of
// each, alternating which goes first. It reports both times per payload
// (scanner-ns, encoding-json-ns) and x-encoding-json, the scanner's time
// as a fraction of encoding/json's (below 1 means faster).
//
//	go test -run='^$' -bench=BenchmarkParse -count=5 ./internal/jwtclaims/
func BenchmarkParse(b *testing.B) {
	const batch = 64
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			payload := []byte(bp.payload)
			if _, err := scanSide(payload); err != nil {
				b.Fatal(err)
			}
			if _, err := jsonSide(payload); err != nil {
				b.Fatal(err)
			}
			var scanD, jsonD time.Duration
			runScan := func() {
				t0 := time.Now()
				for range batch {
					if _, err := scanSide(payload); err != nil {
						b.Fatal(err)
					}
				}
				scanD += time.Since(t0)
			}
			runJSON := func() {
				t0 := time.Now()
				for range batch {
					if _, err := jsonSide(payload); err != nil {
						b.Fatal(err)
					}
				}
				jsonD += time.Since(t0)
			}
			n := 0
			for b.Loop() {
				if n%2 == 0 {
					runScan()
					runJSON()
				} else {
					runJSON()
					runScan()
				}
				n++
			}
			per := float64(n * batch)
			b.ReportMetric(float64(scanD.Nanoseconds())/per, "scanner-ns")
			b.ReportMetric(float64(jsonD.Nanoseconds())/per, "encoding-json-ns")
			b.ReportMetric(float64(scanD)/float64(jsonD), "x-encoding-json")
		})
	}
}

// BenchmarkParseAllocs reports the allocations of each side alone.
func BenchmarkParseAllocs(b *testing.B) {
	for _, bp := range benchPayloads {
		payload := []byte(bp.payload)
		b.Run(bp.name+"/scanner", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scanSide(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bp.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jsonSide(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
