package logout

import (
	"bytes"
	"crypto"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// benchWriter is a reusable http.ResponseWriter.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkBackChannel runs the whole back-channel handler on valid logout
// tokens (form parsing, JWS parsing and signature verification, claim
// checks, the single-use check in a memstore.SingleUse, the logout record
// and DeleteBySID in a memstore)
// and, interleaved in the same loop, go-jose's ParseSignedCompact + Verify
// of the same token with the same public key: the least any verifier must
// do. It reports both times and their ratio as x-jose-verify.
//
// Honesty notes: every iteration uses a different pre-minted token (unique
// jti), so the single-use store really records one entry per request; when
// the pool of tokens wraps, it is replaced outside the timed sections.
// Each token names a sid with one live session, which the handler ends; the
// sessions are re-created outside the timed sections when the pool wraps.
// The ns/op that the testing package prints covers both sides plus the
// bookkeeping. Each side is timed per iteration, and the two sides run in
// alternating order; x-jose-verify is the ratio of the median times (robust
// on a loaded machine), x-jose-verify-mean the ratio of the totals.
//
//	go test -run='^$' -bench=BenchmarkBackChannel -benchtime=3s -count=3 ./logout/
func BenchmarkBackChannel(b *testing.B) {
	k := keys()
	for _, bc := range []struct {
		alg    string
		key    any
		pub    any
		pinned []string
	}{
		{"RS256", k.rsaA, &k.rsaA.PublicKey, []string{"RS256"}},
		{"ES256", k.ecA, &k.ecA.PublicKey, []string{"ES256"}},
	} {
		b.Run(bc.alg, func(b *testing.B) {
			const pool = 2048
			tokens := make([]string, pool)
			bodies := make([][]byte, pool)
			sids := make([]string, pool)
			for i := range tokens {
				c := validClaims(issA, clientA)
				sids[i] = "sid-" + c["jti"].(string)
				c["sid"] = sids[i]
				tokens[i] = tok{alg: bc.alg, key: bc.key, claims: c}.mint(b)
				bodies[i] = []byte(url.Values{"logout_token": {tokens[i]}}.Encode())
			}
			clock := func() time.Time { return testNow }
			v, err := NewVerifier(VerifierConfig{
				Providers: []Provider{{Issuer: issA, ClientID: clientA, Algs: bc.pinned, Keys: &jwksKeys{set: k.jwksA}}},
				Now:       clock,
			})
			if err != nil {
				b.Fatal(err)
			}
			store := memstore.New(memstore.Config{Now: clock})
			fill := func() {
				for _, sid := range sids {
					s := fixtureSessions[0]
					s.ID, s.SID, s.ExpiresAt = "bench-"+sid, sid, testNow.Add(time.Hour)
					if err := store.Create(b.Context(), &s); err != nil {
						b.Fatal(err)
					}
				}
			}
			fill()
			h, err := NewBackChannelHandler(BackChannelConfig{
				Verifier: v, Store: store, Logger: slog.New(slog.DiscardHandler),
				SingleUse: memstore.NewSingleUse(memstore.SingleUseConfig{Now: clock}),
			})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/backchannel-logout", nil)
			req.Header.Set("Content-Type", formContentType)
			w := &benchWriter{h: http.Header{}}
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(bc.alg)}
			rd := new(bytes.Reader)

			handlerD := make([]time.Duration, 0, 1<<16)
			joseD := make([]time.Duration, 0, 1<<16)
			runHandler := func(i int) {
				rd.Reset(bodies[i])
				req.Body = io.NopCloser(rd)
				req.ContentLength = int64(len(bodies[i]))
				clear(w.h)
				w.code = 0
				t0 := time.Now()
				h.ServeHTTP(w, req)
				handlerD = append(handlerD, time.Since(t0))
				if w.code != http.StatusOK {
					b.Fatalf("handler status %d", w.code)
				}
			}
			runJose := func(i int) {
				t0 := time.Now()
				jws, err := jose.ParseSignedCompact(tokens[i], algs)
				if err == nil {
					_, err = jws.Verify(bc.pub)
				}
				joseD = append(joseD, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == pool {
					// Bookkeeping, excluded from both measured sides.
					i = 0
					h.used = memstore.NewSingleUse(memstore.SingleUseConfig{Now: clock})
					fill()
				}
				// Alternate which side runs first, so that neither
				// always finds the token warm in the cache.
				if i%2 == 0 {
					runHandler(i)
					runJose(i)
				} else {
					runJose(i)
					runHandler(i)
				}
				i++
			}
			hMed, jMed := median(handlerD), median(joseD)
			b.ReportMetric(float64(hMed), "handler-median-ns")
			b.ReportMetric(float64(jMed), "jose-median-ns")
			b.ReportMetric(float64(hMed)/float64(jMed), "x-jose-verify")
			b.ReportMetric(float64(sum(handlerD))/float64(sum(joseD)), "x-jose-verify-mean")
		})
	}
}

// BenchmarkVerify measures Verifier.Verify alone on one RS256 token.
func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b, nil)
	raw := tok{}.mint(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

// BenchmarkGoOIDCVerifyLogout measures go-oidc's VerifyLogout on the same
// kind of token, interleaved with go-jose's ParseSignedCompact + Verify,
// and reports their ratio as x-jose-verify: the yardstick the back-channel
// handler's ratio is read against. go-oidc parses the JWS twice (once to
// find the algorithm, once in its key set), and checks less.
//
//	go test -run='^$' -bench=BenchmarkGoOIDCVerifyLogout -benchtime=3s -count=3 ./logout/
func BenchmarkGoOIDCVerifyLogout(b *testing.B) {
	k := keys()
	v := oidc.NewVerifier(issA, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&k.rsaA.PublicKey}}, &oidc.Config{
		ClientID:             clientA,
		SupportedSigningAlgs: []string{"RS256"},
		Now:                  func() time.Time { return testNow },
	})
	raw := tok{}.mint(b)
	algs := []jose.SignatureAlgorithm{jose.RS256}
	var oidcD, joseD []time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		if i%2 == 0 {
			if _, err := v.VerifyLogout(b.Context(), raw); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			jws, err := jose.ParseSignedCompact(raw, algs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(&k.rsaA.PublicKey); err != nil {
				b.Fatal(err)
			}
			oidcD, joseD = append(oidcD, t1.Sub(t0)), append(joseD, time.Since(t1))
			continue
		}
		jws, err := jose.ParseSignedCompact(raw, algs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.Verify(&k.rsaA.PublicKey); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := v.VerifyLogout(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
		joseD, oidcD = append(joseD, t1.Sub(t0)), append(oidcD, time.Since(t1))
	}
	b.ReportMetric(float64(median(oidcD)), "go-oidc-median-ns")
	b.ReportMetric(float64(median(joseD)), "jose-median-ns")
	b.ReportMetric(float64(median(oidcD))/float64(median(joseD)), "x-jose-verify")
}
