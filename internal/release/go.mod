module github.com/oidc-slo/slo/internal/release

go 1.25.0

require (
	github.com/oidc-slo/slo v0.1.0
	golang.org/x/mod v0.38.0
)
