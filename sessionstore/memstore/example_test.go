package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

func Example() {
	ctx := context.Background()
	store := memstore.New(memstore.Config{})

	now := time.Now()
	for _, id := range []string{"session-a", "session-b"} {
		err := store.Create(ctx, &sessionstore.Session{
			ID:        id,
			Issuer:    "https://op.example",
			Subject:   "alice",
			SID:       "op-session-1",
			CreatedAt: now,
			ExpiresAt: now.Add(12 * time.Hour),
			Data:      sessionstore.Data{IDToken: "eyJ..."},
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	s, err := store.Get(ctx, "session-a")
	fmt.Println(s.Subject, s.SID, err)

	// A back-channel logout token for the OP session ends both.
	ended, err := store.DeleteBySID(ctx, "https://op.example", "op-session-1")
	fmt.Println(len(ended), err)

	_, err = store.Get(ctx, "session-b")
	fmt.Println(errors.Is(err, sessionstore.ErrNotFound))
	// Output:
	// alice op-session-1 <nil>
	// 2 <nil>
	// true
}

func ExampleConfig() {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	store := memstore.New(memstore.Config{Now: func() time.Time { return now }})

	err := store.Create(ctx, &sessionstore.Session{
		ID: "s", Issuer: "https://op.example", Subject: "bob",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	fmt.Println(err)

	now = now.Add(time.Hour) // the session is gone at ExpiresAt
	_, err = store.Get(ctx, "s")
	fmt.Println(errors.Is(err, sessionstore.ErrNotFound))
	// Output:
	// <nil>
	// true
}

func ExampleStore_Create() {
	ctx := context.Background()
	store := memstore.New(memstore.Config{})
	s := &sessionstore.Session{ID: "s", Issuer: "https://op.example", Subject: "carol", ExpiresAt: time.Now().Add(time.Hour)}
	fmt.Println(store.Create(ctx, s))
	fmt.Println(errors.Is(store.Create(ctx, s), sessionstore.ErrExists))
	// Output:
	// <nil>
	// true
}

func ExampleStore_DeleteBySIDAndSubject() {
	ctx := context.Background()
	store := memstore.New(memstore.Config{})
	exp := time.Now().Add(time.Hour)
	_ = store.Create(ctx, &sessionstore.Session{ID: "s", Issuer: "https://op.example", Subject: "alice", SID: "op-1", ExpiresAt: exp})

	// A logout token naming sid op-1 for another user ends nothing.
	ended, err := store.DeleteBySIDAndSubject(ctx, "https://op.example", "op-1", "mallory")
	fmt.Println(len(ended), errors.Is(err, sessionstore.ErrSubjectMismatch))

	// The right user's token ends the session, and says which it ended.
	ended, err = store.DeleteBySIDAndSubject(ctx, "https://op.example", "op-1", "alice")
	fmt.Println(len(ended), ended[0].ID, err)
	// Output:
	// 0 true
	// 1 s <nil>
}
