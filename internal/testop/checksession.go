package testop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	"github.com/oidc-slo/slo/internal/weborigin"
)

// SessionState computes a session_state value as in Session Management 1.0
// §4: hex(sha256(clientID + " " + origin + " " + browserState + " " + salt))
// + "." + salt, where origin is the origin of redirectURI. An empty salt is
// replaced by a random one.
func SessionState(clientID, redirectURI, browserState, salt string) string {
	if salt == "" {
		salt = hex.EncodeToString([]byte(rand.Text()[:8]))
	}
	sum := sha256.Sum256([]byte(clientID + " " + Origin(redirectURI) + " " + browserState + " " + salt))
	return hex.EncodeToString(sum[:]) + "." + salt
}

// Origin returns the ASCII serialization of rawURL's origin as a browser
// reports it in event.origin: scheme://host[:port], lower case, without a
// default port. It is weborigin.Of, the helper rp, logout and middleware
// use, so it returns "" for anything but an http(s) URL with a plain ASCII
// host and no user info.
func Origin(rawURL string) string { return weborigin.Of(rawURL) }

// browserState returns the OP browser state of this browser: that of its
// live OP session, or else the anonymous value in its browser-state cookie
// (created if missing or left over from an ended session). It (re)sets the
// cookie when it is out of date.
func (op *OP) browserState(w http.ResponseWriter, r *http.Request, s *opSession) string {
	var have string
	if ck, err := r.Cookie(BrowserStateCookieName); err == nil {
		have = ck.Value
	}
	op.mu.Lock()
	want := have
	switch {
	case s != nil:
		want = s.browserState
	case want == "" || op.endedStates[want]:
		want = rand.Text()
	}
	op.mu.Unlock()
	if want != have {
		op.setCookie(w, BrowserStateCookieName, want, false)
	}
	return want
}

// handleBrowserState answers the check_session iframe's same-origin fetch
// with the browser's current OP browser state, as text.
func (op *OP) handleBrowserState(w http.ResponseWriter, r *http.Request) {
	bs := op.browserState(w, r, op.sessionFromRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, bs) //nolint:errcheck
}

// handleCheckSession serves the OP iframe of Session Management 1.0 §3.2.
func (op *OP) handleCheckSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, checkSessionHTML) //nolint:errcheck
}

// checkSessionHTML follows the example of Session Management 1.0 §3.2. The
// message is client_id + " " + session_state; client_id may itself contain
// spaces, session_state may not, so it is split at the last space. The
// session state is recomputed as hex(sha256(client_id + " " + event.origin
// + " " + browser state + " " + salt)) + "." + salt with a pure-JS SHA-256
// (crypto.subtle is unavailable outside secure contexts). The browser state
// comes from a same-origin fetch of check_session/state, or the testop_bs
// cookie when that fails.
const checkSessionHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OP check session iframe</title>
<script>
"use strict";
/* sha256:begin */
function testopSHA256Hex(str) {
  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2];
  var H = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  function ror(x, n) { return (x >>> n) | (x << (32 - n)); }
  var bytes = unescape(encodeURIComponent(str)); // UTF-8, one char per byte
  var l = bytes.length, n = ((l + 8) >> 6) * 16 + 16, words = [], i, j;
  for (i = 0; i < n; i++) { words[i] = 0; }
  for (i = 0; i < l; i++) { words[i >> 2] |= bytes.charCodeAt(i) << (24 - (i % 4) * 8); }
  words[l >> 2] |= 0x80 << (24 - (l % 4) * 8);
  words[n - 2] = Math.floor(l / 0x20000000);
  words[n - 1] = (l * 8) | 0;
  var w = new Array(64);
  for (j = 0; j < n; j += 16) {
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (i = 0; i < 64; i++) {
      if (i < 16) {
        w[i] = words[j + i];
      } else {
        var x = w[i - 15], y = w[i - 2];
        w[i] = (w[i - 16] + (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) + w[i - 7] + (ror(y, 17) ^ ror(y, 19) ^ (y >>> 10))) | 0;
      }
      var t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      var t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }
  var out = "";
  for (i = 0; i < 8; i++) { out += ("0000000" + (H[i] >>> 0).toString(16)).slice(-8); }
  return out;
}
/* sha256:end */

function testopCookie(name) {
  var parts = document.cookie ? document.cookie.split("; ") : [];
  for (var i = 0; i < parts.length; i++) {
    var eq = parts[i].indexOf("=");
    if (parts[i].substring(0, eq) === name) { return decodeURIComponent(parts[i].substring(eq + 1)); }
  }
  return "";
}

function testopBrowserState() {
  return fetch("` + PathBrowserState + `", {credentials: "same-origin", cache: "no-store"})
    .then(function (r) { if (!r.ok) { throw new Error("status " + r.status); } return r.text(); })
    .catch(function () { return testopCookie("` + BrowserStateCookieName + `"); });
}

function testopReceive(e) {
  if (!e.source || typeof e.origin !== "string" || e.origin === "null") { return; }
  var reply = function (msg) { e.source.postMessage(msg, e.origin); };
  var data = e.data, sp = typeof data === "string" ? data.lastIndexOf(" ") : -1;
  if (sp <= 0) { reply("error"); return; }
  var clientID = data.substring(0, sp), sessionState = data.substring(sp + 1);
  var dot = sessionState.lastIndexOf(".");
  if (dot <= 0 || dot === sessionState.length - 1) { reply("error"); return; }
  var salt = sessionState.substring(dot + 1);
  testopBrowserState().then(function (opbs) {
    var ss = testopSHA256Hex(clientID + " " + e.origin + " " + opbs + " " + salt) + "." + salt;
    reply(ss === sessionState ? "unchanged" : "changed");
  });
}

window.addEventListener("message", testopReceive, false);
</script></head><body></body></html>
`
