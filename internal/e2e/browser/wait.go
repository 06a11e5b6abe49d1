package browser

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// FastPoll polls often: the tests wait for things that happen in
// milliseconds.
var FastPoll = chromedp.WithPollingInterval(20 * time.Millisecond)

// Do runs actions in the tab of ctx and fails the test, naming what, if
// one fails.
func Do(ctx context.Context, t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// WaitTruthy waits until expression is truthy in the tab of ctx, across
// the navigations (reloads) that may happen meanwhile, and returns its
// value as a string. It fails the test, naming what, when ctx ends first.
func WaitTruthy(ctx context.Context, t *testing.T, what, expression string) string {
	t.Helper()
	for {
		v, err := chromedp.Run(ctx, chromedp.Poll[any](expression, FastPoll))
		if err == nil {
			return fmt.Sprint(v)
		}
		if ctx.Err() != nil || errors.Is(err, chromedp.ErrPollingTimeout) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		// The page navigated under the poll: poll the new one.
	}
}

// CheckState is a JS expression for the data-state of slo's session-check
// iframe in an application's page ("" while it is not loaded).
const CheckState = `(() => {
	const f = document.getElementById("slo-session-check");
	const d = f && f.contentDocument;
	return (d && d.documentElement && d.documentElement.dataset.state) || "";
})()`

// WaitCheckState waits until the session-check iframe's state is want.
func WaitCheckState(ctx context.Context, t *testing.T, want string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](CheckState+` === `+strconv.Quote(want), FastPoll)); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](CheckState))
		t.Fatalf("session check state %q, want %q: %v", got, want, err)
	}
}
