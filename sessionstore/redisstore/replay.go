package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/logout"
)

// ReplayCacheConfig configures a ReplayCache.
type ReplayCacheConfig struct {
	// Client is the Redis connection, as in Config. Required.
	Client redis.UniversalClient
	// Prefix starts every key the cache writes. Default DefaultPrefix; the
	// cache's keys never collide with a Store's under the same prefix.
	Prefix string
	// Now is the clock that says how long an entry is kept. Default
	// time.Now.
	Now func() time.Time
}

// ReplayCache is a logout.ReplayCache on Redis, shared by every replica
// using the same Redis deployment.
type ReplayCache struct {
	c    redis.UniversalClient
	keys keys
	now  func() time.Time
}

var (
	_ logout.ReplayCache     = (*ReplayCache)(nil)
	_ logout.ReplayForgetter = (*ReplayCache)(nil)
)

// NewReplayCache returns a ReplayCache using cfg. It does not contact Redis.
func NewReplayCache(cfg ReplayCacheConfig) (*ReplayCache, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: ReplayCacheConfig.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ReplayCache{c: cfg.Client, keys: keys{cfg.Prefix}, now: cfg.Now}, nil
}

// Seen implements logout.ReplayCache with one SET NX PX: of concurrent calls
// for the same (issuer, id), exactly one reports false. The key lives until
// expires by the cache's clock. An already expired pair is not recorded and
// reports false, as in logout.MemoryReplayCache.
func (rc *ReplayCache) Seen(ctx context.Context, issuer, id string, expires time.Time) (bool, error) {
	now := rc.now()
	if !now.Before(expires) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		return false, nil
	}
	set, err := rc.c.SetNX(ctx, rc.keys.replay(issuer, id), "1", time.Duration(ttl(expires, now))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: replay cache: %w", err)
	}
	return !set, nil
}

// Forget implements logout.ReplayForgetter with one DEL: the pair is
// forgotten, so that the OP's retry of a token whose sessions could not be
// ended is not refused as a replay. Forgetting a missing pair succeeds.
func (rc *ReplayCache) Forget(ctx context.Context, issuer, id string) error {
	if err := rc.c.Del(ctx, rc.keys.replay(issuer, id)).Err(); err != nil {
		return fmt.Errorf("redisstore: replay cache forget: %w", err)
	}
	return nil
}
