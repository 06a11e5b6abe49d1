package testop

import (
	"html/template"
	"net/http"
	"net/url"
)

// frontChannelURL is uri with iss and sid appended (keeping its query)
// when the client registered frontchannel_logout_session_required.
func (op *OP) frontChannelURL(c Client, uri, sid string) string {
	if !c.FrontChannelLogoutSessionRequired {
		return uri
	}
	return appendQuery(uri, url.Values{"iss": {op.cfg.Issuer}, "sid": {sid}})
}

// frontChannelTmpl loads every front-channel logout URI in an iframe, waits
// for their load events or the timeout, then leaves for the validated
// post-logout redirect (or says "signed out"). The iframes call frameDone
// from their onload attribute, so a load that happens before the script
// at the end of the body runs is not missed.
var frontChannelTmpl = template.Must(template.New("fc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing out</title>
<script>
var testopPending = {{.Count}}, testopDone = false;
function testopFinish() {
  if (testopDone) { return; }
  testopDone = true;
  document.documentElement.setAttribute("data-logout", "done");
  var target = {{.Redirect}};
  if (target) { window.location.replace(target); }
  else { document.getElementById("message").textContent = "You are signed out."; }
}
function testopFrameDone() { if (--testopPending <= 0) { testopFinish(); } }
setTimeout(testopFinish, {{.TimeoutMS}});
</script></head>
<body><h1>Signing out</h1>
<p id="message">Signing you out of all applications&hellip;</p>
{{range .Frames}}<iframe class="frontchannel-logout" src="{{.}}" onload="testopFrameDone()" title="logout" style="width:0;height:0;border:0;visibility:hidden"></iframe>
{{end}}{{if .Redirect}}<p><a id="continue" href="{{.Redirect}}">Continue</a></p>{{end}}
</body></html>
`))

// frontChannelPage renders the front-channel logout page.
func (op *OP) frontChannelPage(w http.ResponseWriter, frames []string, redirect string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		Frames    []string
		Count     int
		Redirect  string
		TimeoutMS int64
	}{frames, len(frames), redirect, op.cfg.FrontChannelTimeout.Milliseconds()}
	if err := frontChannelTmpl.Execute(w, data); err != nil {
		op.logger.Error("testop: front-channel page", "err", err)
	}
}
