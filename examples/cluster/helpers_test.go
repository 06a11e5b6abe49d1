package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
	"github.com/oidc-slo/slo/rp/rptest"
)

// skipOrFail skips the test for a missing service or binary, or fails it
// in CI.
var skipOrFail = redistest.SkipOrFail

// redisAddr is the shared Redis server; REDIS_ADDR overrides.
func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// pgDSN is the shared PostgreSQL database; PG_DSN overrides.
func pgDSN() string {
	if d := os.Getenv("PG_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

// sharedStore is a store URL and a prefix unique to one test on the shared
// Redis or PostgreSQL server; everything under the prefix is removed when
// the test ends.
type sharedStore struct {
	kind, url, prefix string
}

// newSharedStore checks that the server of kind ("redis" or "postgres") is
// reachable and reserves a prefix for the test.
func newSharedStore(t *testing.T, kind string) sharedStore {
	t.Helper()
	ctx := t.Context()
	suffix := strings.ToLower(rand.Text()[:10])
	switch kind {
	case "redis":
		c := redis.NewClient(&redis.Options{Addr: redisAddr()})
		if err := c.Ping(ctx).Err(); err != nil {
			c.Close()
			skipOrFail(t, "redis at %s unreachable: %v", redisAddr(), err)
		}
		prefix := "slocluster:" + suffix + ":"
		t.Cleanup(func() {
			defer c.Close()
			ctx := context.Background()
			it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			var keys []string
			for it.Next(ctx) {
				keys = append(keys, it.Val())
			}
			for chunk := range slices.Chunk(keys, 500) {
				c.Del(ctx, chunk...)
			}
		})
		return sharedStore{kind: kind, url: "redis://" + redisAddr() + "/0", prefix: prefix}
	case "postgres":
		pool, err := pgxpool.New(ctx, pgDSN())
		if err == nil {
			err = pool.Ping(ctx)
		}
		if err != nil {
			if pool != nil {
				pool.Close()
			}
			skipOrFail(t, "postgres at %s unreachable: %v", pgDSN(), err)
		}
		prefix := "slo_cluster_" + suffix + "_"
		t.Cleanup(func() {
			defer pool.Close()
			for _, tbl := range []string{prefix + "sessions", prefix + "sessions_logouts", prefix + "single_use"} {
				if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{tbl}.Sanitize()); err != nil {
					t.Errorf("dropping %s: %v", tbl, err)
				}
			}
		})
		return sharedStore{kind: kind, url: pgDSN(), prefix: prefix}
	}
	t.Fatalf("unknown store kind %q", kind)
	return sharedStore{}
}

// startOP starts the test OP (slo's public one, rp/rptest) for the length
// of the test.
func startOP(t *testing.T) *rptest.Server {
	t.Helper()
	op := rptest.NewServer(rptest.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(op.Close)
	return op
}

// appClient is the client "app" with every URI under public, as an
// operator registers a replicated application: one registration, the load
// balancer's URIs.
func appClient(public string) rptest.Client {
	return rptest.Client{
		ClientID:                         "app",
		ClientSecret:                     "app-secret",
		RedirectURIs:                     []string{public + "/callback"},
		PostLogoutRedirectURIs:           []string{public + "/logged-out"},
		BackChannelLogoutURI:             public + "/backchannel-logout",
		BackChannelLogoutSessionRequired: true,
	}
}

// register registers appClient(public) at op.
func register(t *testing.T, op *rptest.Server, public string) {
	t.Helper()
	if err := op.Register(appClient(public)); err != nil {
		t.Fatal(err)
	}
}

// navigate marks req as a browser's page load: the middleware redirects a
// page load without a session to the login, and answers a script's
// request 401 instead.
func navigate(req *http.Request) *http.Request {
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	return req
}

// noRedirect returns a copy of c that does not follow redirects.
func noRedirect(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

// get sends GET url with c and returns the status, final URL and body.
func get(t testing.TB, c *http.Client, url string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Request.URL.String(), string(b)
}

// whoami asks url (a /whoami endpoint) who is logged in.
func whoami(t testing.TB, c *http.Client, url string) status {
	t.Helper()
	code, _, body := get(t, c, url)
	var st status
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %q", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
	return st
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu      *sync.Mutex
	records *[]slog.Record
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: new(sync.Mutex), records: new([]slog.Record)}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// take returns the records so far and forgets them.
func (h *logRecorder) take() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := *h.records
	*h.records = nil
	return r
}

// hasError reports whether recs hold an Error record whose message
// contains msg.
func hasError(recs []slog.Record, msg string) bool {
	return slices.ContainsFunc(recs, func(r slog.Record) bool {
		return r.Level >= slog.LevelError && strings.Contains(r.Message, msg)
	})
}
