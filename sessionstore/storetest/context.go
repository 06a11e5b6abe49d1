package storetest

import (
	"context"
	"errors"
	"time"
)

// testCancelledContext: every method fails with an error matching
// context.Canceled when its context is already cancelled, and changes
// nothing.
func testCancelledContext(h *harness) {
	iss := h.issuer("op")
	live := h.session(iss, "alice", "sid-1", time.Hour)
	h.create(live)
	fresh := h.session(iss, "bob", "sid-2", time.Hour)
	changed := live.Clone()
	changed.Data.RefreshToken = "changed"

	ctx, cancel := context.WithCancel(h.Context())
	cancel()
	check := func(method string, err error) {
		h.Helper()
		if !errors.Is(err, context.Canceled) {
			h.Errorf("%s with a cancelled context = %v, want an error matching context.Canceled", method, err)
		}
	}
	_, err := h.store.Get(ctx, live.ID)
	check("Get", err)
	check("Create", h.store.Create(ctx, fresh))
	check("Update", h.store.Update(ctx, changed))
	_, err = h.store.Delete(ctx, live.ID)
	check("Delete", err)
	_, err = h.store.DeleteBySID(ctx, iss, "sid-1")
	check("DeleteBySID", err)
	_, err = h.store.DeleteBySubject(ctx, iss, "alice")
	check("DeleteBySubject", err)

	h.gone(fresh.ID)
	h.has(live)
}
