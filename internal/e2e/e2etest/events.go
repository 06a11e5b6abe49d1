package e2etest

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrExited is returned by EventLog.Wait when the process that reports the
// events has ended.
var ErrExited = errors.New("e2etest: the process exited")

// EventLog keeps the events that a process under test (an OP) reports, in
// order, and lets a test wait for one. The zero value is empty and ready;
// it is safe for concurrent use.
type EventLog[E any] struct {
	mu      sync.Mutex
	events  []E
	changed chan struct{} // closed and replaced at every change
	exited  bool
}

// notify wakes the waiters. The caller holds l.mu.
func (l *EventLog[E]) notify() {
	if l.changed != nil {
		close(l.changed)
	}
	l.changed = make(chan struct{})
}

// Add appends ev.
func (l *EventLog[E]) Add(ev E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	l.notify()
}

// SetExited records whether the process has ended; a restarted one has not.
func (l *EventLog[E]) SetExited(exited bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exited = exited
	l.notify()
}

// All returns the events so far, oldest first.
func (l *EventLog[E]) All() []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]E(nil), l.events...)
}

// Wait returns the first event, already added or still to come, for which
// match is true. It gives up with ErrExited when the process has ended, or
// with ctx's cause when ctx ends.
func (l *EventLog[E]) Wait(ctx context.Context, match func(E) bool) (E, error) {
	seen := 0
	for {
		l.mu.Lock()
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		events, changed, exited := l.events[seen:], l.changed, l.exited
		l.mu.Unlock()
		for _, ev := range events {
			if match(ev) {
				return ev, nil
			}
		}
		seen += len(events)
		var zero E
		if exited {
			return zero, ErrExited
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return zero, fmt.Errorf("waiting for an event: %w", context.Cause(ctx))
		}
	}
}
