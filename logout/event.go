package logout

import (
	"context"
	"log/slog"
)

// Channel names the mechanism through which a logout reached the relying party.
type Channel string

// The logout channels.
const (
	// ChannelRPInitiated is a sign-out the user started in this application
	// (OpenID Connect RP-Initiated Logout 1.0).
	ChannelRPInitiated Channel = "rp-initiated"
	// ChannelFrontChannel is a logout request loaded by the OP in an iframe
	// (OpenID Connect Front-Channel Logout 1.0).
	ChannelFrontChannel Channel = "front-channel"
	// ChannelBackChannel is a logout token POSTed by the OP's server
	// (OpenID Connect Back-Channel Logout 1.0).
	ChannelBackChannel Channel = "back-channel"
	// ChannelSessionManagement is a logout noticed by the session-check
	// iframe (OpenID Connect Session Management 1.0).
	ChannelSessionManagement Channel = "session-management"
	// ChannelRefresh is a session ended because the OP refused its
	// refresh token with invalid_grant: the grant ended at the OP
	// (RFC 6749 §5.2).
	ChannelRefresh Channel = "refresh"
)

// Event describes one attempt to end sessions. Every path in slo that ends
// sessions emits exactly one Event per request it handles.
type Event struct {
	// Channel is how the logout arrived.
	Channel Channel
	// Issuer is the OP the logout is scoped to.
	Issuer string
	// SID is the OP session id named by the logout, if any.
	SID string
	// Subject is the end-user named by the logout, if any.
	Subject string
	// Ended is how many sessions were ended.
	Ended int
	// Err is nil when the logout succeeded, otherwise why it failed or was
	// refused.
	Err error
}

// LogValue implements [slog.LogValuer].
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("channel", string(e.Channel)),
		slog.String("iss", e.Issuer),
		slog.String("sid", e.SID),
		slog.String("sub", e.Subject),
		slog.Int("ended", e.Ended),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Hook receives logout events. It is called synchronously on the request's
// goroutine after the sessions were ended (or the attempt failed); it must
// not block for long.
type Hook func(ctx context.Context, e Event)

// Emit calls h with e if h is not nil.
func (h Hook) Emit(ctx context.Context, e Event) {
	if h != nil {
		h(ctx, e)
	}
}
