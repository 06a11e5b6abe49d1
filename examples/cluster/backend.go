package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// backend is what every replica must share: the session store (which also
// keeps the logout records) and the SingleUse that makes login states and
// logout tokens single-use across replicas. Both live in the same Redis or
// PostgreSQL.
type backend struct {
	Kind      string // "redis" or "postgres"
	Store     sessionstore.Store
	SingleUse sessionstore.SingleUse
	close     func()
}

// Close releases the backend's connections.
func (b *backend) Close() { b.close() }

// openBackend connects to the store named by rawURL:
//
//	redis://[:password@]host:port/db[?dial_timeout=1s&max_retries=-1…]  (go-redis URL options)
//	postgres://user@host:port/db[?sslmode=…]                           (pgx connection string)
//
// prefix is the Redis key prefix (default "slo:"), or for PostgreSQL the
// prefix of the table names, "<prefix>sessions" (with its logout table
// "<prefix>sessions_logouts") and "<prefix>single_use" (default "slo_").
// With PostgreSQL the tables are created if missing.
func openBackend(ctx context.Context, rawURL, prefix string) (*backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: store URL: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
		return openRedis(ctx, rawURL, prefix)
	case "postgres", "postgresql":
		return openPostgres(ctx, rawURL, prefix)
	default:
		return nil, fmt.Errorf("cluster: store URL %q: scheme must be redis, rediss, unix, postgres or postgresql", u.Redacted())
	}
}

func openRedis(ctx context.Context, rawURL, prefix string) (*backend, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis URL: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: redis at %s: %w", opts.Addr, err)
	}
	st, err1 := redisstore.New(redisstore.Config{Client: c, Prefix: prefix})
	used, err2 := redisstore.NewSingleUse(redisstore.SingleUseConfig{Client: c, Prefix: prefix})
	if err := errors.Join(err1, err2); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &backend{Kind: "redis", Store: st, SingleUse: used, close: func() { c.Close() }}, nil
}

func openPostgres(ctx context.Context, rawURL, prefix string) (*backend, error) {
	if prefix == "" {
		prefix = "slo_"
	}
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: postgres URL: %w", err)
	}
	sessions, singleUse := prefix+"sessions", prefix+"single_use"
	// Idempotent and safe when replicas start together (advisory lock).
	if err := errors.Join(
		pgstore.CreateSchema(ctx, pool, sessions),
		pgstore.CreateSingleUseSchema(ctx, pool, singleUse),
	); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	st, err1 := pgstore.New(pgstore.Config{Pool: pool, Table: sessions})
	used, err2 := pgstore.NewSingleUse(pgstore.SingleUseConfig{Pool: pool, Table: singleUse})
	if err := errors.Join(err1, err2); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &backend{Kind: "postgres", Store: st, SingleUse: used, close: pool.Close}, nil
}
