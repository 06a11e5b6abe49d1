package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// SingleUseFlood checks that login states cannot crowd out logout tokens
// in u: it records states distinct login states (as anyone can create them
// with GET /login and GET /callback), 16 at a time, then a logout token id
// must still be a first use and its second use a repeat, and the flood's
// first, middle and last states must still be recorded: nothing competes
// for capacity, nothing is refused or forgotten. A store that bounds each
// namespace must have room for states values in it.
func SingleUseFlood(t testing.TB, u sessionstore.SingleUse, states int) {
	t.Helper()
	iss := "https://op.storetest.example/flood-" + randomSuffix()
	exp := time.Now().Add(10 * time.Minute)
	ids := make([]string, states)
	for i := range ids {
		ids[i] = "state-" + strconv.Itoa(i)
	}
	UseAll(t, u, sessionstore.LoginStates, iss, ids, exp, 16)

	use := func(k sessionstore.Key) bool {
		t.Helper()
		used, err := u.Use(t.Context(), k, exp)
		if err != nil {
			t.Fatalf("Use(%+v): %v", k, err)
		}
		return used
	}
	jti := sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: iss, ID: "jti-after-the-flood"}
	if use(jti) {
		t.Fatal("the logout token's first use after a flood of login states was reported as a repeat")
	}
	if !use(jti) {
		t.Fatal("the logout token's second use was not reported as a repeat")
	}
	for _, s := range []string{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		if !use(sessionstore.Key{Namespace: sessionstore.LoginStates, Issuer: iss, ID: s}) {
			t.Errorf("state %s was forgotten", s)
		}
	}
}

// UseAll records ids, as keys of namespace ns and issuer iss, in u from
// workers goroutines at once, as concurrent requests would, and fails t
// unless every use is a first use.
func UseAll(t testing.TB, u sessionstore.SingleUse, ns sessionstore.Namespace, iss string, ids []string, exp time.Time, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	var failure string
	next := make(chan string)
	for range workers {
		wg.Go(func() {
			for id := range next {
				used, err := u.Use(t.Context(), sessionstore.Key{Namespace: ns, Issuer: iss, ID: id}, exp)
				if err != nil || used {
					once.Do(func() { failure = fmt.Sprintf("Use(%s, %s) = %v, %v; want a first use", ns, id, used, err) })
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
}
