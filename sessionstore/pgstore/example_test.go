package pgstore_test

import (
	"context"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
)

func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// Idempotent; safe to run from every replica at start-up.
	if err := pgstore.CreateSchema(ctx, pool, pgstore.DefaultTable); err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(pgstore.Config{Pool: pool})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	err = store.Create(ctx, &sessionstore.Session{
		ID: "hash-of-cookie-token", Issuer: "https://op.example", Subject: "alice", SID: "op-session-1",
		CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	// A back-channel logout for sid op-session-1, received by any replica:
	ended, err := store.DeleteBySID(ctx, "https://op.example", "op-session-1")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("ended %d sessions", len(ended))
}

// Expired rows are never returned but stay until removed; run the Store's
// and the SingleUse's DeleteExpired from one place, for example a ticker in
// one replica or a cron job.
func ExampleStore_DeleteExpired() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(pgstore.Config{Pool: pool})
	if err != nil {
		log.Fatal(err)
	}
	n, err := store.DeleteExpired(ctx)
	if err != nil {
		log.Print(err)
	}
	log.Printf("removed %d expired sessions", n)
}

// A SingleUse for login and logout states and logout token ids, shared by
// all replicas.
func ExampleNewSingleUse() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	if err := pgstore.CreateSingleUseSchema(ctx, pool, ""); err != nil {
		log.Fatal(err)
	}
	used, err := pgstore.NewSingleUse(pgstore.SingleUseConfig{Pool: pool})
	if err != nil {
		log.Fatal(err)
	}
	_ = used // pass as middleware.Config.SingleUse
}
