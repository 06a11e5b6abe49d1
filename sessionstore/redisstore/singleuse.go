package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
)

// SingleUseConfig configures a SingleUse.
type SingleUseConfig struct {
	// Client is the Redis connection, as in Config. Required.
	Client redis.UniversalClient
	// Prefix starts every key the SingleUse writes. Default DefaultPrefix;
	// its keys never collide with a Store's under the same prefix.
	Prefix string
	// Now is the clock that says how long a value is kept: each key's TTL
	// is its expiry minus Now. Default time.Now.
	Now func() time.Time
}

// SingleUse is a [sessionstore.SingleUse] on Redis, shared by every replica
// using the same Redis deployment. Each value is one key with a TTL, so
// Redis bounds nothing but memory: no value is ever refused or forgotten
// early because many others were recorded, in its namespace or another.
type SingleUse struct {
	c    redis.UniversalClient
	keys keys
	now  func() time.Time
}

var _ sessionstore.SingleUse = (*SingleUse)(nil)

// NewSingleUse returns a SingleUse using cfg. It does not contact Redis.
func NewSingleUse(cfg SingleUseConfig) (*SingleUse, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: SingleUseConfig.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SingleUse{c: cfg.Client, keys: keys{cfg.Prefix}, now: cfg.Now}, nil
}

// Use implements [sessionstore.SingleUse] with one command: SET NX PX on
// the key's own Redis key, so that of concurrent calls for the same key
// exactly one reports false, and the key lives until expires by the
// SingleUse's clock. For an expires that has already passed nothing is
// recorded: Use then only asks whether the key is still recorded (EXISTS).
func (u *SingleUse) Use(ctx context.Context, k sessionstore.Key, expires time.Time) (bool, error) {
	key := u.keys.singleUse(string(k.Namespace), k.Issuer, k.ID)
	now := u.now()
	if !now.Before(expires) {
		n, err := u.c.Exists(ctx, key).Result()
		if err != nil {
			return false, fmt.Errorf("redisstore: single use: %w", err)
		}
		return n > 0, nil
	}
	set, err := u.c.SetNX(ctx, key, "1", time.Duration(ttl(expires, now))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: single use: %w", err)
	}
	return !set, nil
}

// Forget implements [sessionstore.SingleUse] with one DEL. Forgetting a
// key that is not recorded succeeds.
func (u *SingleUse) Forget(ctx context.Context, k sessionstore.Key) error {
	if err := u.c.Del(ctx, u.keys.singleUse(string(k.Namespace), k.Issuer, k.ID)).Err(); err != nil {
		return fmt.Errorf("redisstore: single use forget: %w", err)
	}
	return nil
}
