package middleware

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// Revoking the refresh token of an ended session at the OP (RFC 7009):
// best effort, in the background, so that a slow or failing OP never
// delays a logout. At most maxRevocations run at once; beyond that a
// revocation is skipped with a warning, so that a mass logout cannot pile
// up goroutines.

const (
	maxRevocations  = 16
	revokeTimeout   = 10 * time.Second
	refreshTokenTyp = "refresh_token"
)

// revoker runs the revocations of one Auth.
type revoker struct {
	off  bool          // Config.KeepRefreshTokens
	busy chan struct{} // a slot per running revocation
}

// revokeRefreshToken revokes the refresh token of s, if it has one and the
// OP has a revocation endpoint, in the background.
func (a *Auth) revokeRefreshToken(ctx context.Context, s *sessionstore.Session) {
	if a.revoker.off || s == nil || s.Data.RefreshToken == "" {
		return
	}
	if a.client.Discovered() && a.client.Metadata().RevocationEndpoint == "" {
		return
	}
	select {
	case a.revoker.busy <- struct{}{}:
	default:
		a.logger.WarnContext(ctx, "slo: too many refresh-token revocations under way; not revoking this one", slog.Any("session", s))
		return
	}
	token := s.Data.RefreshToken
	go func() {
		defer func() { <-a.revoker.busy }()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		defer cancel()
		err := a.client.Revoke(rctx, token, refreshTokenTyp)
		switch {
		case errors.Is(err, rp.ErrNoRevocationEndpoint):
		case err != nil:
			a.logger.WarnContext(rctx, "slo: revoking the refresh token of an ended session failed", slog.Any("session", s), slog.Any("error", err))
		default:
			a.logger.DebugContext(rctx, "slo: refresh token of an ended session revoked", slog.Any("session", s))
		}
	}()
}
