package logout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// The sessions every handler test starts with.
var fixtureSessions = []sessionstore.Session{
	{ID: "a-alice-1", Issuer: issA, Subject: "alice", SID: "sid-1"},
	{ID: "a-alice-2", Issuer: issA, Subject: "alice", SID: "sid-2"},
	{ID: "a-alice-nosid", Issuer: issA, Subject: "alice"},
	{ID: "a-bob-3", Issuer: issA, Subject: "bob", SID: "sid-3"},
	{ID: "b-alice-1", Issuer: issB, Subject: "alice", SID: "sid-1"},
}

func allSessionIDs() []string {
	ids := make([]string, len(fixtureSessions))
	for i, s := range fixtureSessions {
		ids[i] = s.ID
	}
	return ids
}

func without(drop ...string) []string {
	return slices.DeleteFunc(allSessionIDs(), func(id string) bool { return slices.Contains(drop, id) })
}

// testStore is a memstore with failure injection on its deletes. The B-28
// check (DeleteBySIDAndSubject) is memstore's own; the wrapper only adds
// the hooks below.
type testStore struct {
	*memstore.Store

	deleteErr error                     // returned by the index deletes
	onDelete  func(ctx context.Context) // called first by the index deletes
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	return &testStore{Store: newFixtureMemstore(t)}
}

// newFixtureMemstore returns a memstore holding fixtureSessions.
func newFixtureMemstore(t testing.TB) *memstore.Store {
	t.Helper()
	s := memstore.New(memstore.Config{Now: func() time.Time { return testNow }})
	for _, fs := range fixtureSessions {
		fs.CreatedAt = testNow
		fs.ExpiresAt = testNow.Add(time.Hour)
		if err := s.Create(t.Context(), &fs); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// hook runs the injected hook and returns the injected error.
func (s *testStore) hook(ctx context.Context) error {
	if s.onDelete != nil {
		s.onDelete(ctx)
	}
	return s.deleteErr
}

func (s *testStore) DeleteBySID(ctx context.Context, issuer, sid string) ([]*sessionstore.Session, error) {
	if err := s.hook(ctx); err != nil {
		return nil, err
	}
	return s.Store.DeleteBySID(ctx, issuer, sid)
}

func (s *testStore) DeleteBySIDAndSubject(ctx context.Context, issuer, sid, sub string) ([]*sessionstore.Session, error) {
	if err := s.hook(ctx); err != nil {
		return nil, err
	}
	return s.Store.DeleteBySIDAndSubject(ctx, issuer, sid, sub)
}

func (s *testStore) DeleteBySubject(ctx context.Context, issuer, sub string) ([]*sessionstore.Session, error) {
	if err := s.hook(ctx); err != nil {
		return nil, err
	}
	return s.Store.DeleteBySubject(ctx, issuer, sub)
}

// surviving returns the fixture session ids still live in s.
func surviving(t testing.TB, s sessionstore.Store) []string {
	t.Helper()
	var ids []string
	for _, id := range allSessionIDs() {
		_, err := s.Get(context.Background(), id)
		switch {
		case err == nil:
			ids = append(ids, id)
		case !errors.Is(err, sessionstore.ErrNotFound):
			t.Fatalf("Get(%s): %v", id, err)
		}
	}
	return ids
}

// bcRequest describes one back-channel request.
type bcRequest struct {
	method      string // default POST
	contentType string // default form
	body        string // raw body; default "logout_token=" + the token
	query       string
}

func (r bcRequest) build(ctx context.Context, token string) *http.Request {
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	body := r.body
	if body == "" {
		body = url.Values{"logout_token": {token}}.Encode()
	}
	target := "/backchannel-logout"
	if r.query != "" {
		target += "?" + r.query
	}
	req := httptest.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	ct := r.contentType
	if ct == "" {
		ct = formContentType
	}
	if ct != "-" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// recordedEvents collects the events a handler emits.
type recordedEvents struct {
	mu sync.Mutex
	ev []Event
}

func (r *recordedEvents) hook(_ context.Context, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

func (r *recordedEvents) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ev)
}

// failingCache is a SingleUse that always fails.
type failingCache struct{}

func (failingCache) Use(context.Context, sessionstore.Key, time.Time) (bool, error) {
	return false, errors.New("cache down")
}

func (failingCache) Forget(context.Context, sessionstore.Key) error { return errors.New("cache down") }

type handlerFixture struct {
	store  *testStore
	events *recordedEvents
	logs   *bytes.Buffer
	h      *BackChannelHandler
}

func newHandlerFixture(t testing.TB, vmod func(*VerifierConfig), hmod func(*BackChannelConfig)) *handlerFixture {
	t.Helper()
	f := &handlerFixture{store: newTestStore(t), events: &recordedEvents{}, logs: &bytes.Buffer{}}
	cfg := BackChannelConfig{
		Verifier: newTestVerifier(t, vmod),
		Store:    f.store,
		OnLogout: f.events.hook,
		Logger:   slog.New(slog.NewJSONHandler(lockedWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if hmod != nil {
		hmod(&cfg)
	}
	h, err := NewBackChannelHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// lockedWriter serialises writes to a log buffer shared by goroutines.
type lockedWriter struct{ w io.Writer }

var logMu sync.Mutex

func (l lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

func jwkOf(key any) jose.JSONWebKey { return jose.JSONWebKey{Key: key} }

func (f *handlerFixture) serve(t testing.TB, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// checkResponse asserts the parts of a response every case shares.
func checkResponse(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int) {
	t.Helper()
	if rec.Code != wantStatus {
		t.Fatalf("status = %d, want %d (body %q)", rec.Code, wantStatus, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if p := rec.Header().Get("Pragma"); p != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", p)
	}
	if wantStatus == http.StatusOK {
		if rec.Body.Len() != 0 {
			t.Errorf("200 body = %q, want empty", rec.Body)
		}
		return
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if body["error"] != "invalid_request" || body["error_description"] == "" {
		t.Errorf("error body = %q, want invalid_request with a description", body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// TestBackChannel has one case per SPEC-CHECKLIST 3A row (B-1 … B-33),
// each asserting the status, Cache-Control and which sessions survive.
func TestBackChannel(t *testing.T) {
	k := keys()
	bToken := func(t testing.TB) string {
		return tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: validClaims(issB, clientB)}.mint(t)
	}
	subOnly := tok{claims: with(func(m map[string]any) { delete(m, "sid") })}.mint
	all := allSessionIDs()
	cases := []struct {
		name     string
		token    func(t testing.TB) string
		req      bcRequest
		vmod     func(*VerifierConfig)
		hmod     func(*BackChannelConfig)
		smod     func(*testStore)
		status   int
		survive  []string
		reason   Reason // ValidationError reason in the event, if any
		noEvent  bool   // refused before the token was looked at
		storeErr bool   // event carries a non-validation error
	}{
		{name: "B-1 valid, sid", token: tok{}.mint, status: 200, survive: without("a-alice-1")},
		{name: "B-2 valid, sub only", token: subOnly, status: 200, survive: without("a-alice-1", "a-alice-2", "a-alice-nosid")},
		{name: "B-2 sub only at OP B", token: func(t testing.TB) string {
			return tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: func() map[string]any {
				m := validClaims(issB, clientB)
				delete(m, "sid")
				return m
			}()}.mint(t)
		}, status: 200, survive: without("b-alice-1")},
		{name: "B-3 unknown sid", token: tok{claims: with(func(m map[string]any) { m["sid"] = "gone" })}.mint, status: 200, survive: all},
		{name: "B-3 unknown sub", token: tok{claims: with(func(m map[string]any) { delete(m, "sid"); m["sub"] = "carol" })}.mint, status: 200, survive: all},
		{name: "B-4 extra claim and parameter", token: tok{claims: with(func(m map[string]any) { m["ignored_claim"] = "x" })}.mint,
			req: bcRequest{body: "ignored_parameter=1&logout_token={{T}}&other=%20"}, status: 200, survive: without("a-alice-1")},
		{name: "B-4 charset parameter", token: tok{}.mint, req: bcRequest{contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}, status: 200, survive: without("a-alice-1")},
		{name: "B-5 typ JWT", token: tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "JWT"}}.mint, status: 200, survive: without("a-alice-1")},
		{name: "B-5 typ logout+jwt", token: tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "logout+jwt"}}.mint, status: 200, survive: without("a-alice-1")},
		{name: "B-5 strict, typ logout+jwt", token: tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "logout+jwt"}}.mint, vmod: strict, status: 200, survive: without("a-alice-1")},
		{name: "B-5 strict, no typ", token: tok{}.mint, vmod: strict, status: 400, survive: all, reason: ReasonTyp},
		{name: "B-6 GET", token: tok{}.mint, req: bcRequest{method: http.MethodGet}, status: 405, survive: all, noEvent: true},
		{name: "B-6 PUT", token: tok{}.mint, req: bcRequest{method: http.MethodPut}, status: 405, survive: all, noEvent: true},
		{name: "B-7 JSON", token: tok{}.mint, req: bcRequest{contentType: "application/json"}, status: 400, survive: all, noEvent: true},
		{name: "B-7 multipart", token: tok{}.mint, req: bcRequest{contentType: "multipart/form-data; boundary=x"}, status: 400, survive: all, noEvent: true},
		{name: "B-7 no content type", token: tok{}.mint, req: bcRequest{contentType: "-"}, status: 400, survive: all, noEvent: true},
		{name: "B-7 bad media type", token: tok{}.mint, req: bcRequest{contentType: "application/x-www-form-urlencoded; ="}, status: 400, survive: all, noEvent: true},
		{name: "B-8 missing", token: tok{}.mint, req: bcRequest{body: "other=1"}, status: 400, survive: all, noEvent: true},
		{name: "B-8 empty", token: tok{}.mint, req: bcRequest{body: "logout_token="}, status: 400, survive: all, noEvent: true},
		{name: "B-8 query only", token: tok{}.mint, req: bcRequest{body: "x=1", query: "logout_token={{T}}"}, status: 400, survive: all, noEvent: true},
		{name: "B-8 malformed logout_token", token: tok{}.mint, req: bcRequest{body: "logout_token=%zz{{T}}"}, status: 400, survive: all, noEvent: true},
		{name: "B-8 semicolon separator", token: tok{}.mint, req: bcRequest{body: "a=1;logout_token={{T}}"}, status: 400, survive: all, noEvent: true},
		// A pair url.ParseQuery cannot decode makes the whole body malformed:
		// skipping it could hide a second logout_token (B-9).
		{name: "B-8 malformed unknown parameter", token: tok{}.mint, req: bcRequest{body: "%zz=%zz&logout_token={{T}}"}, status: 400, survive: all, noEvent: true},
		{name: "B-9 twice, second malformed", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&logout_token=%zz"}, status: 400, survive: all, noEvent: true},
		{name: "B-8 semicolon after the token", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&a=1;b=2"}, status: 400, survive: all, noEvent: true},
		{name: "B-9 twice, escaped name", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&logout%5Ftoken={{T}}"}, status: 400, survive: all, noEvent: true},
		{name: "B-4 escaped name", token: tok{}.mint, req: bcRequest{body: "logout%5Ftoken={{T}}"}, status: 200, survive: without("a-alice-1")},
		{name: "B-9 twice", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&logout_token={{T}}"}, status: 400, survive: all, noEvent: true},
		{name: "B-9 twice, second empty", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&logout_token="}, status: 400, survive: all, noEvent: true},
		{name: "B-10 oversized body", token: tok{}.mint, req: bcRequest{body: "logout_token={{T}}&pad=" + strings.Repeat("x", DefaultMaxBodyBytes)}, status: 413, survive: all, noEvent: true},
		{name: "B-10 small limit", token: tok{}.mint, hmod: func(c *BackChannelConfig) { c.MaxBodyBytes = 100 }, status: 413, survive: all, noEvent: true},
		{name: "B-11 not a JWT", token: func(testing.TB) string { return "abc" }, status: 400, survive: all, reason: ReasonMalformed},
		{name: "B-11 duplicate keys", token: dupClaim(`"sid":"sid-3"`), status: 400, survive: all, reason: ReasonMalformed},
		{name: "B-11 huge number", token: tok{claims: with(func(m map[string]any) { m["exp"] = json.Number("1" + strings.Repeat("0", 400)) })}.mint, status: 400, survive: all, reason: ReasonMalformed},
		{name: "B-12 alg none", token: tok{alg: "none", header: map[string]any{"alg": "none"}}.mint, status: 400, survive: all, reason: ReasonAlgNone},
		{name: "B-12 alg NONE", token: tok{alg: "none", header: map[string]any{"alg": "NONE"}}.mint, status: 400, survive: all, reason: ReasonAlgNone},
		{name: "B-13 wrong alg, published key", token: tok{alg: "ES256", key: k.ecA}.mint, status: 400, survive: all, reason: ReasonAlgNotAllowed},
		{name: "B-14 HS256 with RSA public key", token: func(t testing.TB) string {
			pub, _ := json.Marshal(jwkOf(&k.rsaA.PublicKey))
			return tok{alg: "HS256", key: pub, header: map[string]any{"alg": "HS256", "kid": "a-rsa"}}.mint(t)
		}, status: 400, survive: all, reason: ReasonAlgNotAllowed},
		{name: "B-15 bad signature", token: tok{key: mustRSA()}.mint, status: 400, survive: all, reason: ReasonBadSignature},
		{name: "B-15 embedded jwk", token: func(t testing.TB) string {
			o := mustRSA()
			return tok{key: o, header: map[string]any{"alg": "RS256", "kid": "a-rsa", "jwk": jwkOf(&o.PublicKey)}}.mint(t)
		}, status: 400, survive: all, reason: ReasonBadSignature},
		{name: "B-16 crit", token: tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "crit": []string{"x"}, "x": 1}}.mint, status: 400, survive: all, reason: ReasonCrit},
		{name: "B-17 B's key, iss A", token: tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}}.mint, status: 400, survive: all, reason: ReasonBadSignature},
		{name: "B-17 OP B's own token", token: bToken, status: 200, survive: without("b-alice-1")},
		{name: "B-18 wrong iss", token: tok{claims: with(func(m map[string]any) { m["iss"] = issA + "/" })}.mint, status: 400, survive: all, reason: ReasonUnknownIssuer},
		{name: "B-19 wrong aud", token: tok{claims: with(func(m map[string]any) { m["aud"] = []string{clientA, "x"} })}.mint, status: 400, survive: all, reason: ReasonAudience},
		{name: "B-19 wrong azp", token: tok{claims: with(func(m map[string]any) { m["azp"] = "x" })}.mint, status: 400, survive: all, reason: ReasonAZP},
		{name: "B-20 iat missing", token: tok{claims: with(func(m map[string]any) { delete(m, "iat") })}.mint, status: 400, survive: all, reason: ReasonIAT},
		{name: "B-20 iat future", token: tok{claims: with(func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() })}.mint, status: 400, survive: all, reason: ReasonIssuedInFuture},
		{name: "B-20 iat too old", token: tok{claims: with(func(m map[string]any) { m["iat"] = testNow.Add(-time.Hour).Unix() })}.mint, status: 400, survive: all, reason: ReasonTooOld},
		{name: "B-21 exp missing", token: tok{claims: with(func(m map[string]any) { delete(m, "exp") })}.mint, status: 400, survive: all, reason: ReasonMissingExp},
		{name: "B-21 exp missing, compat", token: tok{claims: with(func(m map[string]any) { delete(m, "exp") })}.mint, vmod: compat, status: 200, survive: without("a-alice-1")},
		{name: "B-21 expired", token: tok{claims: with(func(m map[string]any) { m["exp"] = testNow.Add(-2 * time.Minute).Unix() })}.mint, status: 400, survive: all, reason: ReasonExpired},
		{name: "B-21 nbf future", token: tok{claims: with(func(m map[string]any) { m["nbf"] = testNow.Add(2 * time.Minute).Unix() })}.mint, status: 400, survive: all, reason: ReasonNotYetValid},
		{name: "B-22 jti missing", token: tok{claims: with(func(m map[string]any) { delete(m, "jti") })}.mint, status: 400, survive: all, reason: ReasonJTI},
		// B-23 (replay) is TestBackChannelReplay.
		{name: "B-24 events missing", token: tok{claims: with(func(m map[string]any) { delete(m, "events") })}.mint, status: 400, survive: all, reason: ReasonEvents},
		{name: "B-25 events foobar", token: tok{claims: with(func(m map[string]any) {
			m["events"] = map[string]any{"http://schemas.openid.net/event/foobar": map[string]any{}}
		})}.mint, status: 400, survive: all, reason: ReasonEvents},
		{name: "B-25 member true", token: tok{claims: with(func(m map[string]any) { m["events"] = map[string]any{backChannelEvent: true} })}.mint, status: 400, survive: all, reason: ReasonEvents},
		{name: "B-26 nonce null", token: tok{claims: with(func(m map[string]any) { m["nonce"] = nil })}.mint, status: 400, survive: all, reason: ReasonNonce},
		{name: "B-26 nonce empty", token: tok{claims: with(func(m map[string]any) { m["nonce"] = "" })}.mint, status: 400, survive: all, reason: ReasonNonce},
		{name: "B-27 neither sub nor sid", token: tok{claims: with(func(m map[string]any) { delete(m, "sub"); delete(m, "sid") })}.mint, status: 400, survive: all, reason: ReasonSubject},
		{name: "B-27 sid not a string", token: tok{claims: with(func(m map[string]any) { m["sid"] = 1 })}.mint, status: 400, survive: all, reason: ReasonSubject},
		{name: "B-28 sid of another sub", token: tok{claims: with(func(m map[string]any) { m["sid"] = "sid-3" })}.mint, status: 400, survive: all, reason: ReasonSubjectMismatch},
		{name: "B-28 sid only of another sub", token: tok{claims: with(func(m map[string]any) { m["sid"] = "sid-3"; delete(m, "sub") })}.mint, status: 200, survive: without("a-bob-3")},
		{name: "B-29 ID token", token: tok{claims: map[string]any{
			"iss": issA, "aud": clientA, "sub": "alice", "sid": "sid-1", "iat": testNow.Unix(), "exp": testNow.Unix() + 60, "nonce": "n",
		}}.mint, status: 400, survive: all, reason: ReasonEvents},
		{name: "B-30 at+jwt", token: tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "at+jwt"}}.mint, status: 400, survive: all, reason: ReasonTyp},
		{name: "B-31 JWE without keys", token: func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, status: 400, survive: all, reason: ReasonDecryption},
		{name: "B-31 JWE of unsigned JSON", token: func(t testing.TB) string {
			b, _ := json.Marshal(validClaims(issA, clientA))
			return encrypt(t, string(b), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, vmod: encrypted, status: 400, survive: all, reason: ReasonDecryption},
		{name: "B-31 valid JWE", token: func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, vmod: encrypted, status: 200, survive: without("a-alice-1")},
		{name: "B-35 JWE from OP B without iss header, key shared with OP A", token: func(t testing.TB) string {
			return encrypt(t, bToken(t), &k.rsaEnc.PublicKey, nil)
		}, vmod: sharedDecryption, status: 200, survive: without("b-alice-1")},
		{name: "B-32 unencrypted, encryption registered", token: tok{}.mint, vmod: encrypted, status: 400, survive: all, reason: ReasonEncryptionRequired},
		{name: "B-33 store fails", token: tok{}.mint, smod: func(s *testStore) { s.deleteErr = errors.New("disk on fire") }, status: 400, survive: all, storeErr: true},
		{name: "B-33 store fails, sub only", token: subOnly, smod: func(s *testStore) { s.deleteErr = errors.New("disk on fire") }, status: 400, survive: all, storeErr: true},
		{name: "replay cache fails, fail closed", token: tok{}.mint, hmod: func(c *BackChannelConfig) { c.SingleUse = failingCache{} }, status: 400, survive: all, storeErr: true},
		{name: "replay cache fails, fail open", token: tok{}.mint, hmod: func(c *BackChannelConfig) {
			c.SingleUse = failingCache{}
			c.SingleUseFailOpen = true
		}, status: 200, survive: without("a-alice-1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newHandlerFixture(t, tc.vmod, tc.hmod)
			if tc.smod != nil {
				tc.smod(f.store)
			}
			token := tc.token(t)
			r := tc.req
			r.body = strings.ReplaceAll(r.body, "{{T}}", url.QueryEscape(token))
			r.query = strings.ReplaceAll(r.query, "{{T}}", url.QueryEscape(token))
			rec := f.serve(t, r.build(t.Context(), token))
			checkResponse(t, rec, tc.status)
			if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
			}
			if got := surviving(t, f.store); !slices.Equal(got, tc.survive) {
				t.Errorf("surviving sessions = %q, want %q", got, tc.survive)
			}
			evs := f.events.list()
			if tc.noEvent {
				if len(evs) != 0 {
					t.Errorf("events = %v, want none", evs)
				}
			} else if len(evs) != 1 {
				t.Fatalf("events = %v, want exactly one", evs)
			} else {
				ev := evs[0]
				if ev.Channel != ChannelBackChannel {
					t.Errorf("event channel = %q", ev.Channel)
				}
				switch {
				case tc.status == http.StatusOK:
					if ev.Err != nil || ev.Issuer == "" || ev.Ended != len(allSessionIDs())-len(tc.survive) {
						t.Errorf("event = %+v, want success ending %d", ev, len(allSessionIDs())-len(tc.survive))
					}
				case tc.storeErr:
					if ev.Err == nil || reasonOf(ev.Err) != "" || ev.Ended != 0 {
						t.Errorf("event = %+v, want a non-validation error", ev)
					}
				default:
					if r := reasonOf(ev.Err); r != tc.reason {
						t.Errorf("event reason = %q (%v), want %q", r, ev.Err, tc.reason)
					}
				}
			}
			logs := f.logs.String()
			if strings.Contains(logs, token) || (len(token) > 40 && strings.Contains(logs, token[len(token)-40:])) {
				t.Errorf("logs contain the token: %s", logs)
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Errorf("body contains the token")
			}
			switch {
			case tc.status == http.StatusOK && !strings.Contains(logs, `"level":"INFO"`):
				t.Errorf("no Info log for success: %s", logs)
			case tc.storeErr && !strings.Contains(logs, `"level":"ERROR"`):
				t.Errorf("no Error log for failure: %s", logs)
			case tc.reason == ReasonMissingExp && !strings.Contains(logs, `"level":"ERROR"`):
				t.Errorf("no Error log for a missing exp: %s", logs)
			case tc.status != http.StatusOK && !tc.storeErr && tc.reason != ReasonMissingExp && !strings.Contains(logs, `"level":"WARN"`):
				t.Errorf("no Warn log for rejection: %s", logs)
			}
			if tc.reason != "" && !strings.Contains(logs, `"reason":"`+string(tc.reason)+`"`) {
				t.Errorf("logs lack reason %q: %s", tc.reason, logs)
			}
		})
	}
}

// TestBackChannelReplay is B-23: the same (iss, jti) twice is refused, while
// the same jti from another issuer is not.
func TestBackChannelReplay(t *testing.T) {
	k := keys()
	f := newHandlerFixture(t, nil, nil)
	a := validClaims(issA, clientA)
	b := validClaims(issB, clientB)
	b["jti"] = a["jti"]
	tokA := tok{claims: a}.mint(t)
	tokB := tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: b}.mint(t)

	steps := []struct {
		name   string
		token  string
		status int
		reason Reason
	}{
		{"first", tokA, 200, ""},
		{"replayed", tokA, 400, ReasonReplayed},
		{"same jti, other issuer", tokB, 200, ""},
		{"replayed again", tokA, 400, ReasonReplayed},
	}
	for i, st := range steps {
		rec := f.serve(t, bcRequest{}.build(t.Context(), st.token))
		if rec.Code != st.status {
			t.Fatalf("%s: status = %d, want %d", st.name, rec.Code, st.status)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q", st.name, cc)
		}
		ev := f.events.list()[i]
		if r := reasonOf(ev.Err); r != st.reason {
			t.Errorf("%s: reason = %q, want %q", st.name, r, st.reason)
		}
	}
	if got, want := surviving(t, f.store), without("a-alice-1", "b-alice-1"); !slices.Equal(got, want) {
		t.Errorf("surviving = %q, want %q", got, want)
	}
}

// TestBackChannelRetryAfterStoreFailure: a token whose sessions could not
// be ended is forgotten by the single-use store, so the OP's retry works.
func TestBackChannelRetryAfterStoreFailure(t *testing.T) {
	f := newHandlerFixture(t, nil, nil)
	f.store.deleteErr = errors.New("store down")
	raw := tok{}.mint(t)
	if rec := f.serve(t, bcRequest{}.build(t.Context(), raw)); rec.Code != 400 {
		t.Fatalf("status with failing store = %d, want 400", rec.Code)
	}
	f.store.deleteErr = nil
	if rec := f.serve(t, bcRequest{}.build(t.Context(), raw)); rec.Code != 200 {
		t.Fatalf("retry status = %d, want 200", rec.Code)
	}
	if got, want := surviving(t, f.store), without("a-alice-1"); !slices.Equal(got, want) {
		t.Errorf("surviving = %q, want %q", got, want)
	}
	if rec := f.serve(t, bcRequest{}.build(t.Context(), raw)); rec.Code != 400 {
		t.Fatalf("replay after success = %d, want 400", rec.Code)
	}
}

// TestBackChannelDetachedContext: the OP hanging up (the request context
// being cancelled) while sessions are being ended does not abort it.
func TestBackChannelDetachedContext(t *testing.T) {
	var (
		entered = make(chan struct{})
		release = make(chan struct{})
		sawErr  = make(chan error, 1)
	)
	f := newHandlerFixture(t, nil, func(c *BackChannelConfig) { c.StoreTimeout = time.Minute })
	f.store.onDelete = func(ctx context.Context) {
		close(entered)
		<-release
		sawErr <- ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	req := bcRequest{}.build(ctx, tok{}.mint(t))
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.h.ServeHTTP(rec, req)
	}()
	<-entered
	cancel()
	close(release)
	<-done
	if err := <-sawErr; err != nil {
		t.Errorf("store saw context error %v", err)
	}
	if rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", rec.Code)
	}
	if got, want := surviving(t, f.store), without("a-alice-1"); !slices.Equal(got, want) {
		t.Errorf("surviving = %q, want %q", got, want)
	}
}

// TestBackChannelStoreTimeout: the detached context still has a deadline.
func TestBackChannelStoreTimeout(t *testing.T) {
	f := newHandlerFixture(t, nil, func(c *BackChannelConfig) { c.StoreTimeout = time.Millisecond })
	f.store.onDelete = func(ctx context.Context) { <-ctx.Done() }
	rec := f.serve(t, bcRequest{}.build(t.Context(), tok{}.mint(t)))
	checkResponse(t, rec, http.StatusBadRequest)
	ev := f.events.list()[0]
	if !errors.Is(ev.Err, context.DeadlineExceeded) {
		t.Errorf("event error = %v, want deadline exceeded", ev.Err)
	}
}

// TestBackChannelSubjectMismatch is B-28 against a plain memstore (its own
// DeleteBySIDAndSubject, no test wrapper): a token whose sid belongs to
// another subject is refused with 400, ends nothing, does not run the
// Revoke hook and is not remembered as seen; once the other subject's
// session is gone, the same token is accepted.
func TestBackChannelSubjectMismatch(t *testing.T) {
	store := newFixtureMemstore(t)
	events := &recordedEvents{}
	revoked := 0
	h, err := NewBackChannelHandler(BackChannelConfig{
		Verifier: newTestVerifier(t, nil),
		Store:    store,
		OnLogout: events.hook,
		Logger:   slog.New(slog.DiscardHandler),
		Revoke:   func(context.Context, *Token, []*sessionstore.Session) error { revoked++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	// alice claims sid-3, which is bob's.
	raw := tok{claims: with(func(m map[string]any) { m["sid"] = "sid-3" })}.mint(t)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, bcRequest{}.build(t.Context(), raw))
	checkResponse(t, rec, http.StatusBadRequest)
	if got := surviving(t, store); !slices.Equal(got, allSessionIDs()) {
		t.Errorf("surviving = %q, want all", got)
	}
	ev := events.list()[0]
	if reasonOf(ev.Err) != ReasonSubjectMismatch || !errors.Is(ev.Err, sessionstore.ErrSubjectMismatch) || ev.Ended != 0 {
		t.Errorf("event = %+v, want reason %q wrapping ErrSubjectMismatch", ev, ReasonSubjectMismatch)
	}
	if revoked != 0 {
		t.Errorf("Revoke ran %d times for a refused token", revoked)
	}

	// bob's session ends by other means; alice's token for sid-3 now has
	// nothing of another subject in its way (and was not recorded).
	if _, err := store.Delete(t.Context(), "a-bob-3"); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, bcRequest{}.build(t.Context(), raw))
	checkResponse(t, rec, http.StatusOK)
	if revoked != 1 {
		t.Errorf("Revoke ran %d times, want 1", revoked)
	}
	if got, want := surviving(t, store), without("a-bob-3"); !slices.Equal(got, want) {
		t.Errorf("surviving = %q, want %q", got, want)
	}
}

// TestBackChannelWithoutSIDSubjectDeleter: a store without
// DeleteBySIDAndSubject gets DeleteBySID and no B-28 check; the sid's
// sessions are ended.
func TestBackChannelWithoutSIDSubjectDeleter(t *testing.T) {
	f := newHandlerFixture(t, nil, nil)
	plain := struct{ sessionstore.Store }{f.store.Store} // hides DeleteBySIDAndSubject
	if _, ok := sessionstore.Store(plain).(sessionstore.SIDSubjectDeleter); ok {
		t.Fatal("the wrapper still implements SIDSubjectDeleter")
	}
	h, err := NewBackChannelHandler(BackChannelConfig{Verifier: f.h.verifier, Store: plain, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, bcRequest{}.build(t.Context(), tok{claims: with(func(m map[string]any) { m["sid"] = "sid-3" })}.mint(t)))
	checkResponse(t, rec, http.StatusOK)
	if got, want := surviving(t, plain), without("a-bob-3"); !slices.Equal(got, want) {
		t.Errorf("surviving = %q, want %q", got, want)
	}
}

// TestBackChannelStreamedBody: a body without Content-Length is still
// bounded.
func TestBackChannelStreamedBody(t *testing.T) {
	f := newHandlerFixture(t, nil, func(c *BackChannelConfig) { c.MaxBodyBytes = 1024 })
	for _, tc := range []struct {
		name          string
		body          io.Reader
		contentLength int64
		status        int
	}{
		{"small", strings.NewReader("logout_token=" + tok{}.mint(t)), -1, http.StatusOK},
		{"too large", strings.NewReader(strings.Repeat("a", 1025)), -1, http.StatusRequestEntityTooLarge},
		{"longer than Content-Length", strings.NewReader("x=1&logout_token=" + tok{}.mint(t)), 10, http.StatusOK},
		{"longer than Content-Length and the limit", strings.NewReader(strings.Repeat("a", 1025)), 10, http.StatusRequestEntityTooLarge},
		{"read error", io.MultiReader(strings.NewReader("logout_token="), errReader{}), -1, http.StatusBadRequest},
		{"read error, known length", io.MultiReader(strings.NewReader("logout_token="), errReader{}), 100, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", tc.body)
			req.ContentLength = tc.contentLength
			req.Header.Set("Content-Type", formContentType)
			checkResponse(t, f.serve(t, req), tc.status)
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestBackChannelRevoke: the Revoke hook sees the verified token and the
// sessions it ended, after they ended, and its failure does not change the
// response.
func TestBackChannelRevoke(t *testing.T) {
	for _, fail := range []bool{false, true} {
		var got *Token
		var gotEnded []*sessionstore.Session
		var storeLenAtRevoke int
		var f *handlerFixture
		f = newHandlerFixture(t, nil, func(c *BackChannelConfig) {
			c.Revoke = func(ctx context.Context, tk *Token, ended []*sessionstore.Session) error {
				got, gotEnded = tk, ended
				storeLenAtRevoke = len(surviving(t, f.store))
				if fail {
					return errors.New("revocation endpoint down")
				}
				return nil
			}
		})
		rec := f.serve(t, bcRequest{}.build(t.Context(), tok{}.mint(t)))
		checkResponse(t, rec, http.StatusOK)
		if got == nil || got.SID != "sid-1" || got.Subject != "alice" {
			t.Errorf("fail=%v: Revoke got %v", fail, got)
		}
		if len(gotEnded) != 1 || gotEnded[0].SID != "sid-1" || gotEnded[0].Subject != "alice" {
			t.Errorf("fail=%v: Revoke got the ended sessions %v, want the one of sid-1", fail, gotEnded)
		}
		if storeLenAtRevoke != len(fixtureSessions)-1 {
			t.Errorf("fail=%v: %d sessions when Revoke ran, want %d", fail, storeLenAtRevoke, len(fixtureSessions)-1)
		}
		if s := surviving(t, f.store); len(s) != len(fixtureSessions)-1 {
			t.Errorf("fail=%v: surviving = %q", fail, s)
		}
		if fail && !strings.Contains(f.logs.String(), "revocation endpoint down") {
			t.Errorf("revoke failure not logged: %s", f.logs)
		}
	}
}

// TestBackChannelRevokeAfterStoreFailure: a store failure (400, the OP may
// retry) still runs the Revoke hook: the OP said the user logged out.
func TestBackChannelRevokeAfterStoreFailure(t *testing.T) {
	calls := 0
	f := newHandlerFixture(t, nil, func(c *BackChannelConfig) {
		c.Revoke = func(context.Context, *Token, []*sessionstore.Session) error { calls++; return nil }
	})
	f.store.deleteErr = errors.New("store down")
	checkResponse(t, f.serve(t, bcRequest{}.build(t.Context(), tok{}.mint(t))), http.StatusBadRequest)
	if calls != 1 {
		t.Errorf("Revoke ran %d times, want 1", calls)
	}
	if got := surviving(t, f.store); !slices.Equal(got, allSessionIDs()) {
		t.Errorf("surviving = %q, want all", got)
	}
}

func TestNewBackChannelHandlerConfig(t *testing.T) {
	_, err := NewBackChannelHandler(BackChannelConfig{MaxBodyBytes: -1, StoreTimeout: -1})
	if err == nil {
		t.Fatal("NewBackChannelHandler accepted an empty config")
	}
	for _, w := range []string{"Verifier is nil", "Store is nil", "MaxBodyBytes", "StoreTimeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	h, err := NewBackChannelHandler(BackChannelConfig{Verifier: newTestVerifier(t, nil), Store: memstore.New(memstore.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	if h.maxBody != DefaultMaxBodyBytes || h.storeTimeout != DefaultStoreTimeout || h.used == nil {
		t.Errorf("defaults not applied: %+v", h)
	}
}

// FuzzBackChannelRequest feeds arbitrary bodies and content types to the
// handler. Nothing is validly signed, so the answer is always 400, 405 or
// 413 with Cache-Control: no-store, no session ends, and nothing panics.
func FuzzBackChannelRequest(f *testing.F) {
	other := mustRSA()
	unsigned := tok{key: other}.mint(f)
	for _, s := range []struct{ ct, body string }{
		{formContentType, "logout_token=" + unsigned},
		{formContentType + "; charset=utf-8", "logout_token=" + unsigned + "&ignored=1"},
		{formContentType, "logout_token=a&logout_token=b"},
		{formContentType, "logout_token=%zz"},
		{formContentType, "logout_token=a;b=c"},
		{formContentType, ""},
		{"application/json", `{"logout_token":"x"}`},
		{"", "logout_token=x"},
		{formContentType + `; charset="`, "logout_token=x"},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	fx := newHandlerFixture(f, nil, func(c *BackChannelConfig) {
		c.MaxBodyBytes = 4096
		c.Logger = slog.New(slog.DiscardHandler)
	})
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status = %d", rec.Code)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("no Cache-Control: no-store")
		}
		if !bytes.Equal(rec.Body.Bytes(), errorBody) {
			t.Fatalf("body = %q", rec.Body)
		}
		if n := len(surviving(t, fx.store)); n != len(fixtureSessions) {
			t.Fatalf("%d sessions survive, want %d", n, len(fixtureSessions))
		}
	})
}

// TestMissingExpLogsTheSetting: a token without exp, refused by default,
// is logged at Error with the setting that accepts it, so that an operator
// of an OP like Ory Hydra finds it; other refusals stay at Warn.
func TestMissingExpLogsTheSetting(t *testing.T) {
	f := newHandlerFixture(t, nil, nil)
	claims := validClaims(issA, clientA)
	delete(claims, "exp")
	rec := f.serve(t, bcRequest{}.build(t.Context(), tok{claims: claims}.mint(t)))
	checkResponse(t, rec, http.StatusBadRequest)
	logs := f.logs.String()
	if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "AllowMissingExp") || !strings.Contains(logs, "missing_exp") {
		t.Fatalf("refusal of a token without exp not logged at Error with the setting: %s", logs)
	}

	f = newHandlerFixture(t, nil, nil)
	claims = validClaims(issA, "someone-else")
	f.serve(t, bcRequest{}.build(t.Context(), tok{claims: claims}.mint(t)))
	if logs := f.logs.String(); strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"level":"WARN"`) {
		t.Fatalf("a wrong aud is logged: %s", logs)
	}
}
