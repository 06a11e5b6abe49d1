package rp

import "log/slog"

// LogValue implements slog.LogValuer: it logs the issuer and creation time
// only, never the state, nonce or code verifier.
func (st *LoginState) LogValue() slog.Value {
	if st == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("iss", st.Issuer), slog.Time("created_at", st.CreatedAt))
}

// LogValue implements slog.LogValuer: it logs who logged in, never a token.
func (r *Result) LogValue() slog.Value {
	if r == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("iss", r.Issuer), slog.String("sub", r.Subject), slog.String("sid", r.SID))
}
