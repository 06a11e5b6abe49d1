package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// testConcurrent runs creates, updates and deletes of the same sessions at
// once (run it with -race) and checks that every session was ended exactly
// once, that no Update brought back a deleted session, and that sessions
// nobody deleted are intact.
func testConcurrent(h *harness) {
	const groups, perGroup = 8, 12
	iss := h.issuer("op")
	ctx := h.Context()

	type group struct {
		bySID    bool // ended by DeleteBySID, else by DeleteBySubject
		sessions []*sessionstore.Session
		created  chan struct{}
		byID     int // sessions ended by Delete
		byIndex  int // sessions ended by the index delete
	}
	gs := make([]*group, groups)
	for g := range gs {
		gr := &group{bySID: g%2 == 0, created: make(chan struct{})}
		for k := range perGroup {
			var s *sessionstore.Session
			if gr.bySID {
				s = h.session(iss, fmt.Sprintf("user-%d-%d", g, k), fmt.Sprintf("sid-%d", g), time.Hour)
			} else {
				s = h.session(iss, fmt.Sprintf("user-%d", g), fmt.Sprintf("sid-%d-%d", g, k), time.Hour)
			}
			gr.sessions = append(gr.sessions, s)
		}
		gs[g] = gr
	}
	// Control sessions: created twice at once, updated, never deleted.
	var control []*sessionstore.Session
	for k := range perGroup {
		control = append(control, h.session(iss, "ctl-"+strconv.Itoa(k), "ctl-sid-"+strconv.Itoa(k), time.Hour))
	}

	update := func(s *sessionstore.Session, i int) {
		u := s.Clone()
		u.Data.Values = map[string]string{"n": strconv.Itoa(i)}
		err := h.store.Update(ctx, u)
		if err != nil && !errors.Is(err, sessionstore.ErrNotFound) {
			h.Errorf("Update(%q) = %v, want nil or ErrNotFound", s.ID, err)
		}
	}

	stop := make(chan struct{})
	var updaters, deleters sync.WaitGroup
	for _, gr := range gs {
		// Creator.
		deleters.Add(3)
		go func() {
			defer deleters.Done()
			defer close(gr.created)
			for _, s := range gr.sessions {
				if err := h.store.Create(ctx, s.Clone()); err != nil {
					h.Errorf("Create(%q) = %v (did a concurrent Update insert it?)", s.ID, err)
				}
			}
		}()
		// Updater: runs before, during and after the deletes.
		updaters.Add(1)
		go func() {
			defer updaters.Done()
			for i := 0; ; i++ {
				for _, s := range gr.sessions {
					select {
					case <-stop:
						return
					default:
					}
					update(s, i)
				}
			}
		}()
		// Deleter by id: a third of the sessions.
		go func() {
			defer deleters.Done()
			<-gr.created
			for _, s := range gr.sessions[:perGroup/3] {
				ended, err := h.store.Delete(ctx, s.ID)
				if err != nil {
					h.Errorf("Delete(%q): %v", s.ID, err)
				}
				if ended != nil {
					gr.byID++
				}
			}
		}()
		// Deleter by index: all of them.
		go func() {
			defer deleters.Done()
			<-gr.created
			var ended []*sessionstore.Session
			var err error
			if gr.bySID {
				ended, err = h.store.DeleteBySID(ctx, iss, gr.sessions[0].SID)
			} else {
				ended, err = h.store.DeleteBySubject(ctx, iss, gr.sessions[0].Subject)
			}
			if err != nil {
				h.Errorf("index delete: %v", err)
			}
			gr.byIndex = len(ended)
		}()
	}
	// Control creators, two per session, racing each other.
	var mu sync.Mutex
	wins := make(map[string]int)
	for range 2 {
		deleters.Add(1)
		go func() {
			defer deleters.Done()
			for _, s := range control {
				err := h.store.Create(ctx, s.Clone())
				switch {
				case err == nil:
					mu.Lock()
					wins[s.ID]++
					mu.Unlock()
				case !errors.Is(err, sessionstore.ErrExists):
					h.Errorf("Create(%q) = %v, want nil or ErrExists", s.ID, err)
				}
			}
		}()
	}
	updaters.Add(1)
	go func() {
		defer updaters.Done()
		for i := 0; ; i++ {
			for _, s := range control {
				select {
				case <-stop:
					return
				default:
				}
				update(s, i)
			}
		}
	}()

	deleters.Wait()
	// Updaters are still running: nothing deleted may come back.
	for g, gr := range gs {
		if got := gr.byID + gr.byIndex; got != perGroup {
			h.Errorf("group %d: deletes ended %d+%d sessions, want %d in all", g, gr.byID, gr.byIndex, perGroup)
		}
		for _, s := range gr.sessions {
			h.gone(s.ID)
		}
	}
	close(stop)
	updaters.Wait()
	for _, gr := range gs {
		for _, s := range gr.sessions {
			h.gone(s.ID)
		}
		if gr.bySID {
			h.deleteBySID(iss, gr.sessions[0].SID, 0)
		} else {
			h.deleteBySubject(iss, gr.sessions[0].Subject, 0)
		}
	}
	for _, s := range control {
		if wins[s.ID] != 1 {
			h.Errorf("Create(%q) succeeded %d times in a race of two, want once", s.ID, wins[s.ID])
		}
		got, err := h.store.Get(ctx, s.ID)
		if err != nil {
			h.Errorf("control session %q: Get = %v", s.ID, err)
			continue
		}
		if got.Subject != s.Subject || got.SID != s.SID || !got.ExpiresAt.Equal(s.ExpiresAt) {
			h.Errorf("control session %q changed: %+v", s.ID, got)
		}
	}
	for _, s := range control {
		h.deleteBySID(iss, s.SID, 1)
	}
}
