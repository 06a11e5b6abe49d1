package sessionstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// Sessions are found by id for requests and by (issuer, sid) or
// (issuer, subject) for logouts from the OP.
func ExampleStore() {
	ctx := context.Background()
	var store sessionstore.Store = memstore.New(memstore.Config{})
	now := time.Now()
	for i, sid := range []string{"op-session-1", "op-session-1", "op-session-2"} {
		store.Create(ctx, &sessionstore.Session{
			ID: fmt.Sprint("session-", i), Issuer: "https://op.example.com", Subject: "alice", SID: sid,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		})
	}

	// A back-channel logout token names sid op-session-1: both of its
	// sessions end, the third stays.
	ended, _ := store.DeleteBySID(ctx, "https://op.example.com", "op-session-1")
	fmt.Println("ended by sid:", len(ended))
	_, err := store.Get(ctx, "session-0")
	fmt.Println("session-0 gone:", errors.Is(err, sessionstore.ErrNotFound))

	// A request in flight cannot bring an ended session back.
	err = store.Update(ctx, &sessionstore.Session{
		ID: "session-0", Issuer: "https://op.example.com", Subject: "alice", SID: "op-session-1",
		CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour),
	})
	fmt.Println("update after logout:", errors.Is(err, sessionstore.ErrNotFound))

	// A token with only sub ends every session of the user at that issuer.
	ended, _ = store.DeleteBySubject(ctx, "https://op.example.com", "alice")
	fmt.Println("ended by subject:", len(ended))
	// Output:
	// ended by sid: 2
	// session-0 gone: true
	// update after logout: true
	// ended by subject: 1
}
