package storetest

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// Config tells Run how to make the store under test and how to control its
// clock.
type Config struct {
	// New returns an empty-looking store for one subtest. It is called once
	// per subtest with that subtest's t, so it can register cleanup with
	// t.Cleanup. Stores backed by a shared server may return a handle to the
	// same server every time: every subtest uses its own random issuers and
	// session ids, so runs do not see each other's sessions. Required.
	New func(t *testing.T) sessionstore.Store

	// Now returns the store's current time. Nil means time.Now. It must be
	// set when Advance is set, and must then be the clock the store reads.
	Now func() time.Time

	// Advance moves the store's clock forward by d. Nil means the store
	// follows the wall clock: expiry tests then create sessions that are
	// already expired, and sessions with a short lifetime whose expiry they
	// await by waiting (at most about a second) for the wall clock to pass
	// their ExpiresAt.
	Advance func(d time.Duration)
}

// Run runs the conformance suite against the store made by cfg.New. Each
// check is a named subtest, so a failing one can be rerun alone with
// go test -run 'TestStore/Name'.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.New == nil {
		t.Fatal("storetest: Config.New is required")
	}
	if cfg.Advance != nil && cfg.Now == nil {
		t.Fatal("storetest: Config.Now is required when Config.Advance is set")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(newHarness(t, cfg))
		})
	}
}

// tests lists every check, in the order they run.
var tests = []struct {
	name string
	run  func(h *harness)
}{
	{"RoundTrip", testRoundTrip},
	{"GetUnknown", testGetUnknown},
	{"CreateDuplicate", testCreateDuplicate},
	{"UpdateRoundTrip", testUpdateRoundTrip},
	{"UpdateUnknown", testUpdateUnknown},
	{"UpdateAfterDelete", testUpdateAfterDelete},
	{"DeleteIdempotent", testDeleteIdempotent},
	{"DeleteReturnsSessions", testDeleteReturnsSessions},
	{"DeleteBySID", testDeleteBySID},
	{"DeleteBySubject", testDeleteBySubject},
	{"EmptySIDMatchesNothing", testEmptySID},
	{"EmptySubjectMatchesNothing", testEmptySubject},
	{"IssuerScoping", testIssuerScoping},
	{"SIDAndSubjectNamespaces", testNamespaces},
	{"OpaqueKeys", testOpaqueKeys},
	{"KeyCollisions", testKeyCollisions},
	{"GetReturnsCopy", testGetReturnsCopy},
	{"CreateCopiesInput", testCreateCopies},
	{"UpdateCopiesInput", testUpdateCopies},
	{"CreateExpired", testCreateExpired},
	{"Expiry", testExpiry},
	{"UpdateExtendsExpiry", testUpdateExtendsExpiry},
	{"CancelledContext", testCancelledContext},
	{"DeleteBySIDAndSubject", testDeleteBySIDAndSubject},
	{"DeleteBySIDAndSubjectExpired", testDeleteBySIDAndSubjectExpired},
	{"DeleteBySIDAndSubjectCancelled", testDeleteBySIDAndSubjectCancelled},
	{"LogoutRecords", testLogoutRecords},
	{"LogoutRecordExpiry", testLogoutRecordExpiry},
	{"Concurrent", testConcurrent},
}

// harness is one subtest's store, clock and naming scheme.
type harness struct {
	*testing.T
	cfg   Config
	store sessionstore.Store
	// run is a random string that makes issuers and ids unique to this
	// subtest, so that stores on a shared server do not leak between runs.
	run string
}

func newHarness(t *testing.T, cfg Config) *harness {
	s := cfg.New(t)
	if s == nil {
		t.Fatal("storetest: Config.New returned nil")
	}
	return &harness{T: t, cfg: cfg, store: s, run: rand.Text()[:12]}
}

// issuer returns an issuer identifier unique to this subtest.
func (h *harness) issuer(name string) string {
	return "https://op.storetest.example/" + h.run + "/" + name
}

// id returns a session id unique to this subtest.
func (h *harness) id(name string) string {
	return h.run + "-" + name + "-" + rand.Text()
}

// now returns the store's time, rounded down to whole milliseconds: stores
// are only required to keep millisecond precision.
func (h *harness) now() time.Time {
	return h.cfg.Now().Truncate(time.Millisecond)
}

// short is the lifetime of sessions that expiry tests let expire.
func (h *harness) short() time.Duration {
	if h.cfg.Advance != nil {
		return time.Hour
	}
	return 500 * time.Millisecond
}

// session returns a live session of (iss, sub, sid) that lives for life,
// with every Data field set.
func (h *harness) session(iss, sub, sid string, life time.Duration) *sessionstore.Session {
	now := h.now()
	return &sessionstore.Session{
		ID:        h.id(strings.Map(safeRune, sub)),
		Issuer:    iss,
		Subject:   sub,
		SID:       sid,
		CreatedAt: now,
		ExpiresAt: now.Add(life),
		Data: sessionstore.Data{
			IDToken:      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
			AccessToken:  "access-" + sub,
			RefreshToken: "refresh-" + sub,
			TokenExpiry:  now.Add(5 * time.Minute),
			SessionState: "state.salt",
			Values:       map[string]string{"name": "Ada", "empty": "", "ключ": "値 & \"x\""},
			// Kept byte for byte: key order, escapes, big and fractional
			// numbers, nesting (in the compact form Data.Claims has).
			Claims: claimsOf(sub),
		},
	}
}

// claimsOf returns the compact claims of a session of sub.
func claimsOf(sub string) json.RawMessage {
	q, _ := json.Marshal(sub)
	c, _ := json.Marshal(json.RawMessage(`{"sub":` + string(q) + `,"name":"Ada Lovelace","email":"ada@example.com",` +
		`"email_verified":true,"auth_time":1767312000,"big":12345678901234567890,"pi":3.14e0,` +
		`"groups":["a","b"],"esc":"\u00e9\"\\/ <&>","nested":{"z":1,"a":[null,false]},"ключ":"値"}`))
	return c
}

func safeRune(r rune) rune {
	if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
		return r
	}
	return '_'
}

// wait lets the sessions expire: it advances the store's clock to the
// latest ExpiresAt, or waits for the wall clock to pass it.
func (h *harness) wait(ss ...*sessionstore.Session) {
	h.Helper()
	var last time.Time
	for _, s := range ss {
		if s.ExpiresAt.After(last) {
			last = s.ExpiresAt
		}
	}
	h.waitUntil(last)
}

// waitUntil advances the store's clock to last, or waits for the wall
// clock to pass it.
func (h *harness) waitUntil(last time.Time) {
	h.Helper()
	if h.cfg.Advance != nil {
		if d := last.Sub(h.cfg.Now()); d > 0 {
			h.cfg.Advance(d)
		}
		return
	}
	// The store reads the wall clock (perhaps on another machine's idea
	// of it): wait until it is a little past the deadline.
	timer := time.NewTimer(time.Until(last.Add(50 * time.Millisecond)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-h.Context().Done():
		h.Fatal("storetest: test ended while waiting for sessions to expire")
	}
}

// randomSuffix makes names unique to one run, for stores on a shared server.
func randomSuffix() string { return "/" + rand.Text()[:12] }
