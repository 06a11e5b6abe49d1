package logout

import "errors"

// Reason says why a logout token was refused. The values are stable:
// callers may branch on them, count them in metrics and alert on them.
type Reason string

// The reasons reported in [ValidationError.Reason].
const (
	// ReasonMalformed: the token is not a well-formed compact JWS or JWE, its
	// header or payload is not a JSON object, a claim the verifier reads is
	// repeated, has a case- or Unicode-folded alias or is not valid UTF-8,
	// or a claim has the wrong JSON type or an out-of-range number.
	ReasonMalformed Reason = "malformed"
	// ReasonTooLarge: the token is longer than the verifier accepts.
	ReasonTooLarge Reason = "too_large"
	// ReasonDecryption: the token is a JWE that the provider has no keys for
	// or that does not decrypt, or its plaintext is not a JWS.
	ReasonDecryption Reason = "decryption_failed"
	// ReasonEncryptionRequired: the provider requires encrypted logout
	// tokens (ID token encryption was registered) and this one is not.
	ReasonEncryptionRequired Reason = "encryption_required"
	// ReasonAlgNone: the JWS uses the "none" algorithm, in any spelling.
	ReasonAlgNone Reason = "alg_none"
	// ReasonAlgNotAllowed: the JWS algorithm is not one the issuer's
	// provider is pinned to.
	ReasonAlgNotAllowed Reason = "alg_not_allowed"
	// ReasonCrit: the JWS header has a "crit" parameter. No extension is
	// understood, so every critical one is unsupported (RFC 7515 §4.1.11).
	ReasonCrit Reason = "crit_unsupported"
	// ReasonTyp: the JWS "typ" header is refused by the [TypPolicy].
	ReasonTyp Reason = "bad_typ"
	// ReasonUnknownIssuer: "iss" is missing, not a string, or not the exact
	// issuer of a configured provider.
	ReasonUnknownIssuer Reason = "unknown_issuer"
	// ReasonBadSignature: the signature does not verify under the issuer's
	// published keys (including an unknown kid after one JWKS refresh).
	ReasonBadSignature Reason = "bad_signature"
	// ReasonAudience: "aud" is missing, does not contain the provider's
	// client_id, or contains another (untrusted) audience.
	ReasonAudience Reason = "bad_audience"
	// ReasonAZP: "azp" is present and is not the provider's client_id.
	ReasonAZP Reason = "bad_azp"
	// ReasonIAT: "iat" is missing or not a number.
	ReasonIAT Reason = "bad_iat"
	// ReasonIssuedInFuture: "iat" is later than now plus the clock skew.
	ReasonIssuedInFuture Reason = "iat_in_future"
	// ReasonTooOld: "iat" is older than the verifier's MaxAge (plus skew).
	ReasonTooOld Reason = "too_old"
	// ReasonMissingExp: "exp" is absent and the pre-errata compatibility
	// mode is off.
	ReasonMissingExp Reason = "missing_exp"
	// ReasonExpired: now is at or after "exp" plus the clock skew.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: "nbf" is later than now plus the clock skew.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonSubject: neither "sub" nor "sid" is present, or one of them is
	// present but empty or not a string.
	ReasonSubject Reason = "bad_sub_sid"
	// ReasonEvents: "events" is missing, is not an object, lacks the
	// back-channel logout member, or that member is not an object.
	ReasonEvents Reason = "bad_events"
	// ReasonNonce: a "nonce" claim is present (with any value, even null).
	ReasonNonce Reason = "nonce_present"
	// ReasonJTI: "jti" is missing, empty or not a string.
	ReasonJTI Reason = "bad_jti"
	// ReasonReplayed: the (iss, jti) pair was already accepted and has not
	// yet expired.
	ReasonReplayed Reason = "replayed"
	// ReasonSubjectMismatch: the token names both sid and sub, and the
	// sid's sessions belong to another subject.
	ReasonSubjectMismatch Reason = "subject_mismatch"
)

// ValidationError reports why a logout token was refused. Use [errors.As] to
// get it from an error returned by [Verifier.Verify] or carried in an
// [Event]. Its message never contains the token.
type ValidationError struct {
	// Reason is why, e.g. [ReasonExpired].
	Reason Reason
	// Err is the underlying cause, if any. It never holds the token either.
	Err error
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Err == nil {
		return "logout: invalid logout token: " + string(e.Reason)
	}
	return "logout: invalid logout token: " + string(e.Reason) + ": " + e.Err.Error()
}

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// invalid returns a *ValidationError with the given reason and a short,
// token-free detail.
func invalid(reason Reason, detail string) error {
	if detail == "" {
		return &ValidationError{Reason: reason}
	}
	return &ValidationError{Reason: reason, Err: errors.New(detail)}
}

// invalidErr returns a *ValidationError wrapping err. err must not contain
// the token (go-jose's and encoding/json's errors do not quote their input
// beyond a header value, which is not secret).
func invalidErr(reason Reason, err error) error {
	return &ValidationError{Reason: reason, Err: err}
}
