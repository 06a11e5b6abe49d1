package browser_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
)

func TestNewRunsScripts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="p">hello</p><script>document.getElementById("p").dataset.js="ran"</script>`))
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(browser.New(t), 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS(`#p[data-js="ran"]`))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#p")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "hello" {
		t.Errorf("page text %q, want hello", text)
	}
}

// TestNewStartsWithAFreshProfile checks that a cookie set in one browser is
// kept by it and unknown to the next.
func TestNewStartsWithAFreshProfile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, err := r.Cookie("seen"); err == nil {
			_, _ = w.Write([]byte(`<p id="state">returning</p>`))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1", Path: "/"})
		_, _ = w.Write([]byte(`<p id="state">new</p>`))
	}))
	t.Cleanup(srv.Close)

	for i := range 2 {
		ctx, cancel := context.WithTimeout(browser.New(t), 30*time.Second)
		var states []string
		for range 2 {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
				t.Fatal(err)
			}
			s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#state")))
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, s)
		}
		cancel()
		if states[0] != "new" || states[1] != "returning" {
			t.Errorf("browser %d saw %v, want [new returning]", i, states)
		}
	}
}
