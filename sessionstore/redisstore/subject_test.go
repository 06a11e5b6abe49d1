package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// afterHMGet runs fn once, right after the first pipeline holding an HMGET
// has completed.
type afterHMGet struct {
	once sync.Once
	fn   func()
}

func (h *afterHMGet) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *afterHMGet) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *afterHMGet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if len(cmds) > 0 && cmds[0].Name() == "hmget" {
			h.once.Do(h.fn)
		}
		return err
	}
}

// TestDeleteBySIDAndSubjectRecreatedBetween: with several sessions under
// one sid, a session deleted and re-created with the same id for another
// subject between the identity read and the deletes is not deleted (each
// delete script re-checks the subject), while the checked ones are.
func TestDeleteBySIDAndSubjectRecreatedBetween(t *testing.T) {
	base := localClient(t)
	prefix := randomPrefix(t, base)
	ctx := t.Context()
	other := newStore(t, redisstore.Config{Client: base, Prefix: prefix})
	now := time.Now()
	mk := func(id, sub string) *sessionstore.Session {
		return &sessionstore.Session{ID: id, Issuer: "https://op.example", Subject: sub, SID: "sid-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	for _, s := range []*sessionstore.Session{mk("a1", "alice"), mk("a2", "alice"), mk("a3", "alice")} {
		if err := other.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	hook := &afterHMGet{fn: func() {
		if ended, err := other.Delete(ctx, "a2"); err != nil || ended == nil {
			t.Errorf("Delete(a2) = %v, %v", ended, err)
		}
		if err := other.Create(ctx, mk("a2", "bob")); err != nil {
			t.Errorf("re-Create(a2) for bob: %v", err)
		}
	}}
	c := redis.NewClient(&redis.Options{Addr: base.Options().Addr})
	t.Cleanup(func() { c.Close() })
	c.AddHook(hook)
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix})

	ended, err := st.DeleteBySIDAndSubject(ctx, "https://op.example", "sid-1", "alice")
	if err != nil || len(ended) != 2 {
		t.Fatalf("DeleteBySIDAndSubject = %d sessions, %v; want 2 (a1, a3), nil", len(ended), err)
	}
	for _, id := range []string{"a1", "a3"} {
		if _, err := st.Get(ctx, id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("Get(%s) = %v, want ErrNotFound", id, err)
		}
	}
	got, err := st.Get(ctx, "a2")
	if err != nil || got.Subject != "bob" {
		t.Fatalf("bob's re-created session: Get = %v, %v; want it kept", got, err)
	}
	// bob's live session now blocks alice (the index still lists a1 and a3).
	if ended, err := st.DeleteBySIDAndSubject(ctx, "https://op.example", "sid-1", "alice"); !errors.Is(err, sessionstore.ErrSubjectMismatch) || len(ended) != 0 {
		t.Errorf("DeleteBySIDAndSubject after = %d sessions, %v; want ErrSubjectMismatch", len(ended), err)
	}
}
