package logout

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestValidationError(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{invalid(ReasonExpired, ""), "logout: invalid logout token: expired"},
		{invalid(ReasonAudience, "aud lacks the client_id"), "logout: invalid logout token: bad_audience: aud lacks the client_id"},
		{invalidErr(ReasonBadSignature, io.ErrUnexpectedEOF), "logout: invalid logout token: bad_signature: unexpected EOF"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		wrapped := fmt.Errorf("outer: %w", tc.err)
		var ve *ValidationError
		if !errors.As(wrapped, &ve) || ve.Reason == "" {
			t.Errorf("errors.As failed on %v", wrapped)
		}
		if reasonOf(wrapped) != ve.Reason {
			t.Errorf("reasonOf = %q", reasonOf(wrapped))
		}
	}
	if !errors.Is(invalidErr(ReasonBadSignature, io.ErrUnexpectedEOF), io.ErrUnexpectedEOF) {
		t.Error("Unwrap does not expose the cause")
	}
	if reasonOf(io.EOF) != "" {
		t.Error("reasonOf of a plain error is not empty")
	}
}
