package testop_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/testop"
)

// nodeHarness runs the check_session page's script in node with stubbed
// window, document and fetch, feeds it messages and prints the replies and
// some SHA-256 digests as JSON.
const nodeHarness = `
const fs = require("fs"), vm = require("vm");
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
(async () => {
  const out = {replies: [], digests: []};
  for (const c of input.cases) {
    let handler;
    const ctx = vm.createContext({
      window: {addEventListener: (type, h) => { if (type === "message") handler = h; }},
      document: {cookie: c.cookie},
      fetch: () => c.fetchFails ? Promise.reject(new Error("offline"))
        : Promise.resolve({ok: true, text: () => Promise.resolve(c.state)}),
    });
    vm.runInContext(input.script, ctx);
    const got = [];
    handler({source: {postMessage: (m, o) => got.push([m, o])}, origin: c.origin, data: c.data});
    await new Promise((r) => setTimeout(r, 10));
    out.replies.push(got);
    if (out.digests.length === 0) {
      for (const s of input.digest) out.digests.push(ctx.testopSHA256Hex(s));
    }
  }
  console.log(JSON.stringify(out));
})();
`

func TestCheckSessionScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI: ", err)
		}
		t.Skip("node not installed: ", err)
	}
	op := newOP(t, testop.Config{})
	resp, err := http.Get(op.Issuer() + testop.PathCheckSession)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("check_session page is not frameable: X-Frame-Options %s", xfo)
	}
	_, script, _ := strings.Cut(string(page), "<script>")
	script, _, _ = strings.Cut(script, "</script>")

	const origin = "http://rp.example:8080"
	ss := testop.SessionState("app client", origin+"/callback", "BS", "")
	type tcase struct {
		Name       string `json:"-"`
		Origin     string `json:"origin"`
		Data       any    `json:"data"`
		State      string `json:"state"`
		Cookie     string `json:"cookie"`
		FetchFails bool   `json:"fetchFails"`
		Want       string `json:"-"`
	}
	cases := []tcase{
		{Name: "unchanged", Origin: origin, Data: "app client " + ss, State: "BS", Want: "unchanged"},
		{Name: "browser state changed", Origin: origin, Data: "app client " + ss, State: "BS2", Want: "changed"},
		{Name: "other origin", Origin: "http://evil.example", Data: "app client " + ss, State: "BS", Want: "changed"},
		{Name: "other client", Origin: origin, Data: "app " + ss, State: "BS", Want: "changed"},
		{Name: "cookie fallback", Origin: origin, Data: "app client " + ss, Cookie: "x=1; testop_bs=BS", FetchFails: true, Want: "unchanged"},
		{Name: "cookie fallback, no cookie", Origin: origin, Data: "app client " + ss, FetchFails: true, Want: "changed"},
		{Name: "no space", Origin: origin, Data: "garbage", Want: "error"},
		{Name: "no salt", Origin: origin, Data: "app abc", Want: "error"},
		{Name: "not a string", Origin: origin, Data: map[string]int{"a": 1}, Want: "error"},
	}
	digest := []string{"", "abc", "é ü 🔑", strings.Repeat("a", 55), strings.Repeat("b", 56), strings.Repeat("c", 64), strings.Repeat("d", 119), strings.Repeat("e", 1000)}
	in, _ := json.Marshal(map[string]any{"script": script, "cases": cases, "digest": digest})
	dir := t.TempDir()
	inFile, harness := filepath.Join(dir, "in.json"), filepath.Join(dir, "harness.js")
	os.WriteFile(inFile, in, 0o600)
	os.WriteFile(harness, []byte(nodeHarness), 0o600)
	out, err := exec.CommandContext(t.Context(), node, harness, inFile).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		Replies [][][2]string `json:"replies"`
		Digests []string      `json:"digests"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, c := range cases {
		if got := res.Replies[i]; len(got) != 1 || got[0][0] != c.Want || got[0][1] != c.Origin {
			t.Errorf("%s: replies %v, want [[%s %s]]", c.Name, got, c.Want, c.Origin)
		}
	}
	for i, s := range digest {
		sum := sha256.Sum256([]byte(s))
		if want := hex.EncodeToString(sum[:]); res.Digests[i] != want {
			t.Errorf("JS sha256(%.20q) = %s, want %s", s, res.Digests[i], want)
		}
	}
}

// browserStateOf fetches /check_session/state as the browser would.
func browserStateOf(t *testing.T, op *testop.OP, b *http.Client) string {
	t.Helper()
	resp, err := b.Get(op.Issuer() + testop.PathBrowserState)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestBrowserStateFollowsSession(t *testing.T) {
	matches := func(op *testop.OP, b *http.Client, ss string) bool {
		_, salt, _ := strings.Cut(ss, ".")
		return testop.SessionState("app", rpRedirect, browserStateOf(t, op, b), salt) == ss
	}
	tests := []struct {
		name string
		end  func(t *testing.T, op *testop.OP, b *http.Client)
	}{
		{"end_session in the browser", func(t *testing.T, op *testop.OP, b *http.Client) {
			endSession(t, op, b, http.MethodGet, url.Values{"client_id": {"app"}})
		}},
		{"EndSession elsewhere", func(t *testing.T, op *testop.OP, _ *http.Client) {
			op.EndSession(t.Context(), "alice")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, testop.Config{})
			b := browser(t)
			ss := authorize(t, op, b, "app", rpRedirect, nil).Get("session_state")
			if !matches(op, b, ss) {
				t.Fatal("session_state does not match the browser state after login")
			}
			tt.end(t, op, b)
			if matches(op, b, ss) {
				t.Fatal("session_state still matches after the OP session ended")
			}
			// The anonymous state is stable, and a prompt=none error carries it.
			p := authorize(t, op, b, "app", rpRedirect, url.Values{"prompt": {"none"}})
			if p.Get("error") != "login_required" || !matches(op, b, p.Get("session_state")) {
				t.Errorf("after logout: %v", p)
			}
			// A new login changes it again.
			ss2 := authorize(t, op, b, "app", rpRedirect, nil).Get("session_state")
			if matches(op, b, p.Get("session_state")) || !matches(op, b, ss2) {
				t.Error("browser state did not change on login")
			}
			if u, _ := url.Parse(op.Issuer()); !slices.ContainsFunc(b.Jar.Cookies(u), func(c *http.Cookie) bool {
				return c.Name == testop.BrowserStateCookieName
			}) {
				t.Error("no browser-state cookie")
			}
		})
	}
}
