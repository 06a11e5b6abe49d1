package logout

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

var massLogoutTokens = flag.Int("masslogout.tokens", 200_000, "logout tokens BenchmarkMassLogout sends")

// BenchmarkMassLogout is B-38 at the handler level: an OP ends 200,000
// sessions at once and sends one distinct, valid RS256 logout token for
// each, within the tokens' lifetime. They go one after another through
// the back-channel handler as the middleware wires it: NewBackChannelHandler
// with a memstore holding the 200,000 sessions and the default single-use
// store (memstore.SingleUse). Every answer must be 200 and every session
// must end. It reports the handler's mean time per token over the first
// and the last 10,000 tokens (first-10k-ns/token, last-10k-ns/token) and
// their ratio (x-last-vs-first; the target is at most 1.5), and the same
// for the medians (x-last-vs-first-median). On a shared machine other
// processes inflate the wall-clock times unevenly, so it also reports the
// process's CPU time per token over the same two windows (cpu-*, with
// x-cpu-last-vs-first): the handler's work and the runtime's, garbage
// collection included, and nobody else's.
//
// The tokens are minted before the timed part, on every CPU (RSA signing
// is about 1 ms per token, so minting takes minutes); each request is timed
// on its own, so only the handler's time counts. The clock is fixed, so
// every token stays valid however long the run takes.
//
//	go test -run='^$' -bench=BenchmarkMassLogout -benchtime=1x -timeout=60m ./logout/
func BenchmarkMassLogout(b *testing.B) {
	const window = 10_000
	n := *massLogoutTokens
	if n < 2*window {
		b.Fatalf("-masslogout.tokens %d: need at least %d", n, 2*window)
	}
	bodies := mintMassLogout(b, n)

	clock := func() time.Time { return testNow }
	for b.Loop() {
		b.StopTimer()
		store := memstore.New(memstore.Config{Now: clock})
		for i := range n {
			s := sessionstore.Session{
				ID: fmt.Sprintf("mass-%d", i), Issuer: issA, Subject: fmt.Sprintf("user-%d", i), SID: fmt.Sprintf("sid-%d", i),
				CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour),
			}
			if err := store.Create(b.Context(), &s); err != nil {
				b.Fatal(err)
			}
		}
		v, err := NewVerifier(VerifierConfig{Providers: testProviders()[:1], Now: clock})
		if err != nil {
			b.Fatal(err)
		}
		h, err := NewBackChannelHandler(BackChannelConfig{Verifier: v, Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/backchannel-logout", nil)
		req.Header.Set("Content-Type", formContentType)
		w := &benchWriter{h: http.Header{}}
		rd := new(bytes.Reader)
		d := make([]time.Duration, n)
		runtime.GC()
		b.StartTimer()

		var cpu [4]time.Duration // process CPU at the edges of both windows
		for i, body := range bodies {
			if i == 0 {
				cpu[0] = processCPU()
			}
			if i == window {
				cpu[1] = processCPU()
			}
			if i == n-window {
				cpu[2] = processCPU()
			}
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(body))
			clear(w.h)
			w.code = 0
			t0 := time.Now()
			h.ServeHTTP(w, req)
			d[i] = time.Since(t0)
			if w.code != http.StatusOK {
				b.Fatalf("token %d: status %d", i, w.code)
			}
		}

		cpu[3] = processCPU()
		b.StopTimer()
		for _, i := range []int{0, n / 2, n - 1} {
			if _, err := store.Get(b.Context(), fmt.Sprintf("mass-%d", i)); err == nil {
				b.Fatalf("session %d survived its logout token", i)
			}
		}
		first, last := d[:window], d[n-window:]
		fMean, lMean := float64(sum(first))/window, float64(sum(last))/window
		b.ReportMetric(fMean, "first-10k-ns/token")
		b.ReportMetric(lMean, "last-10k-ns/token")
		b.ReportMetric(lMean/fMean, "x-last-vs-first")
		b.ReportMetric(float64(median(last))/float64(median(first)), "x-last-vs-first-median")
		b.ReportMetric(float64(sum(d))/float64(n), "all-ns/token")
		if cpu[3] > 0 {
			fCPU, lCPU := float64(cpu[1]-cpu[0])/window, float64(cpu[3]-cpu[2])/window
			b.ReportMetric(fCPU, "cpu-first-10k-ns/token")
			b.ReportMetric(lCPU, "cpu-last-10k-ns/token")
			b.ReportMetric(lCPU/fCPU, "x-cpu-last-vs-first")
		}
		b.StartTimer()
	}
}

// mintMassLogout mints n distinct valid RS256 logout tokens of OP A (sid
// sid-i, sub user-i) as form bodies, on every CPU.
func mintMassLogout(b *testing.B, n int) [][]byte {
	b.Helper()
	key := keys().rsaA
	header, err := json.Marshal(map[string]any{"alg": "RS256", "kid": "a-rsa"})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c := validClaims(issA, clientA)
				c["jti"] = fmt.Sprintf("mass-jti-%d", i)
				c["sid"] = fmt.Sprintf("sid-%d", i)
				c["sub"] = fmt.Sprintf("user-%d", i)
				raw, err := mintRS256(key, header, c)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				bodies[i] = []byte(url.Values{"logout_token": {raw}}.Encode())
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return bodies
}

// mintRS256 signs claims under header with key.
func mintRS256(key *rsa.PrivateKey, header []byte, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	h := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}
