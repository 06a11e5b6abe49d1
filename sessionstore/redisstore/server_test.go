package redisstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
)

// localAddr is the shared Redis server the tests use; REDIS_ADDR overrides.
func localAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// localClient connects to the shared Redis server. Tests on it write only
// keys under a random prefix and delete them afterwards.
func localClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: localAddr()})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		redistest.SkipOrFail(t, "redis at %s unreachable: %v", localAddr(), err)
	}
	return c
}

// randomPrefix returns a key prefix unique to one test and removes every key
// under it when the test ends.
func randomPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	p := "slotest:" + rand.Text()[:10] + ":"
	t.Cleanup(func() { deletePrefix(t, c, p) })
	return p
}

func deletePrefix(t testing.TB, c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var batch []string
		for it.Next(ctx) {
			batch = append(batch, it.Val())
			if len(batch) == 500 {
				if err := c.Del(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			return c.Del(ctx, batch...).Err()
		}
		return nil
	}
	var err error
	switch c := c.(type) {
	case *redis.Client:
		err = del(ctx, c)
	case *redis.ClusterClient:
		// Keys on one master may still lie in different slots: delete
		// them one by one there.
		err = c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				if err := c.Del(ctx, it.Val()).Err(); err != nil {
					return err
				}
			}
			return it.Err()
		})
	}
	if err != nil {
		t.Errorf("cleaning up keys %s*: %v", prefix, err)
	}
}
