package e2etest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oidc-slo/slo/internal/e2e/e2etest"
)

func TestEventLog(t *testing.T) {
	var l e2etest.EventLog[string]
	is := func(want string) func(string) bool { return func(ev string) bool { return ev == want } }

	l.Add("a")
	if ev, err := l.Wait(t.Context(), is("a")); ev != "a" || err != nil {
		t.Fatalf("Wait for an event already added = %q, %v", ev, err)
	}
	got := make(chan string)
	go func() {
		ev, _ := l.Wait(t.Context(), is("b"))
		got <- ev
	}()
	l.Add("x")
	l.Add("b")
	if ev := <-got; ev != "b" {
		t.Fatalf("Wait for an event still to come = %q", ev)
	}
	if all := l.All(); len(all) != 3 || all[0] != "a" || all[2] != "b" {
		t.Fatalf("All = %q", all)
	}

	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("gave up")
	cancel(cause)
	if _, err := l.Wait(ctx, is("never")); !errors.Is(err, cause) {
		t.Fatalf("Wait with an ended context: %v", err)
	}
	l.SetExited(true)
	if _, err := l.Wait(t.Context(), is("never")); !errors.Is(err, e2etest.ErrExited) {
		t.Fatalf("Wait after the process exited: %v", err)
	}
	if ev, err := l.Wait(t.Context(), is("b")); ev != "b" || err != nil {
		t.Fatalf("Wait for an event added before the exit = %q, %v", ev, err)
	}
	l.SetExited(false)
	go l.Add("c")
	if ev, err := l.Wait(t.Context(), is("c")); ev != "c" || err != nil {
		t.Fatalf("Wait after a restart = %q, %v", ev, err)
	}
}
