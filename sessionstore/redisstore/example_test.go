package redisstore_test

import (
	"context"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// A store on a single Redis node; redis.NewFailoverClient (Sentinel) and
// redis.NewClusterClient work the same way.
func Example() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()

	store, err := redisstore.New(redisstore.Config{Client: client, Prefix: "myapp:slo:"})
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

// A SingleUse for login and logout states and logout token ids, shared by
// all replicas.
func ExampleNewSingleUse() {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379"}})
	defer client.Close()
	used, err := redisstore.NewSingleUse(redisstore.SingleUseConfig{Client: client})
	if err != nil {
		log.Fatal(err)
	}
	_ = used // pass as middleware.Config.SingleUse
}
