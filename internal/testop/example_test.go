package testop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/oidc-slo/slo/internal/testop"
)

// An OP on a distinct host name, and its discovery document.
func ExampleStart() {
	op, err := testop.Start(testop.Config{}, "localhost:0")
	if err != nil {
		panic(err)
	}
	defer op.Close()
	resp, err := http.Get(op.Issuer() + testop.PathDiscovery)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	fmt.Println(strings.HasPrefix(op.Issuer(), "http://localhost:"))
	fmt.Println(strings.TrimPrefix(m["end_session_endpoint"].(string), op.Issuer()))
	fmt.Println(m["backchannel_logout_session_supported"])
	// Output:
	// true
	// /end_session
	// true
}

// Minting a logout token for a negative test: valid claims, but signed with
// a key the OP does not publish.
func ExampleOP_SignLogoutToken() {
	op, err := testop.Start(testop.Config{}, "")
	if err != nil {
		panic(err)
	}
	defer op.Close()
	claims := op.LogoutClaims("app", "alice", "sid-1")
	delete(claims, "sub")
	tok := op.SignLogoutToken(claims, testop.WithKey(op.ForeignKey()))
	fmt.Println(strings.Count(tok, "."), claims["aud"], claims["sid"], claims["sub"])
	// Output: 2 app sid-1 <nil>
}

// "The user logged out at the OP elsewhere": end the user's OP sessions and
// see which back-channel deliveries were made.
func ExampleOP_EndSession() {
	op, err := testop.Start(testop.Config{}, "")
	if err != nil {
		panic(err)
	}
	defer op.Close()
	deliveries := op.EndSession(context.Background(), "alice")
	fmt.Println(len(deliveries))
	// Output: 0
}
