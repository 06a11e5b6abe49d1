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

	"github.com/go-jose/go-jose/v4"
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
// must end.
//
// It compares the handler's time per token over the first and the last
// 10,000 tokens (the target is a ratio of at most 1.5):
//   - first-10k-ns/token, last-10k-ns/token, x-last-vs-first: wall-clock
//     means; x-last-vs-first-median: the ratio of the medians;
//   - cpu-first-10k-ns/token, cpu-last-10k-ns/token, x-cpu-last-vs-first:
//     the process's CPU time spent in the handler calls (the runtime's
//     included, garbage collection too), which other processes on a busy
//     machine do not inflate, but which they still slow down by sharing
//     caches and cores;
//   - x-last-vs-first-vs-jose and x-cpu-last-vs-first-vs-jose: the same
//     ratios (of medians, and of CPU) divided by that of a control measured
//     alongside in both windows: go-jose's ParseSignedCompact + Verify of
//     the same token, a fixed amount of work. A value near 1 means the
//     handler's cost stayed flat and the machine changed; a growth of the
//     handler's own shows as a value above 1.
//
// The tokens are minted before the timed part, on every CPU (RSA signing
// is about 1 ms per token, so minting takes minutes); each request is timed
// on its own. The clock is fixed, so every token stays valid however long
// the run takes.
//
//	go test ./logout/ -run='^$' -bench=BenchmarkMassLogout -benchtime=1x -timeout=60m
//
// (-args -masslogout.tokens=N sends N tokens instead.)
func BenchmarkMassLogout(b *testing.B) {
	const window = 10_000
	n := *massLogoutTokens
	if n < 2*window {
		b.Fatalf("-masslogout.tokens %d: need at least %d", n, 2*window)
	}
	bodies := mintMassLogout(b, n)
	// The raw tokens of both windows, for the control.
	windowOf := func(i int) int {
		switch {
		case i < window:
			return 0
		case i >= n-window:
			return 1
		}
		return -1
	}
	raws := make(map[int]string, 2*window)
	for i, body := range bodies {
		if windowOf(i) >= 0 {
			q, err := url.ParseQuery(string(body))
			if err != nil {
				b.Fatal(err)
			}
			raws[i] = q.Get("logout_token")
		}
	}
	pub := &keys().rsaA.PublicKey
	algs := []jose.SignatureAlgorithm{jose.RS256}

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
		var (
			cpuH, cpuJ [2]time.Duration   // CPU time per window: handler, control
			joseD      [2][]time.Duration // control's wall-clock times
		)
		control := func(i, win int) {
			c0, t0 := processCPU(), time.Now()
			jws, err := jose.ParseSignedCompact(raws[i], algs)
			if err == nil {
				_, err = jws.Verify(pub)
			}
			joseD[win] = append(joseD[win], time.Since(t0))
			cpuJ[win] += processCPU() - c0
			if err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		b.StartTimer()

		for i, body := range bodies {
			win := windowOf(i)
			if win >= 0 && i%2 == 1 {
				control(i, win) // alternate which side goes first
			}
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(body))
			clear(w.h)
			w.code = 0
			var c0 time.Duration
			if win >= 0 {
				c0 = processCPU()
			}
			t0 := time.Now()
			h.ServeHTTP(w, req)
			d[i] = time.Since(t0)
			if win >= 0 {
				cpuH[win] += processCPU() - c0
			}
			if w.code != http.StatusOK {
				b.Fatalf("token %d: status %d", i, w.code)
			}
			if win >= 0 && i%2 == 0 {
				control(i, win)
			}
		}

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
		xMedian := float64(median(last)) / float64(median(first))
		b.ReportMetric(xMedian, "x-last-vs-first-median")
		b.ReportMetric(xMedian/(float64(median(joseD[1]))/float64(median(joseD[0]))), "x-last-vs-first-vs-jose")
		b.ReportMetric(float64(sum(d))/float64(n), "all-ns/token")
		if cpuH[0] > 0 && cpuJ[0] > 0 {
			xCPU := float64(cpuH[1]) / float64(cpuH[0])
			b.ReportMetric(float64(cpuH[0])/window, "cpu-first-10k-ns/token")
			b.ReportMetric(float64(cpuH[1])/window, "cpu-last-10k-ns/token")
			b.ReportMetric(xCPU, "x-cpu-last-vs-first")
			b.ReportMetric(xCPU/(float64(cpuJ[1])/float64(cpuJ[0])), "x-cpu-last-vs-first-vs-jose")
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
