# Every Go module in the repository (directories holding a go.mod), core first.
MODULES := $(shell find . -name go.mod -not -path '*/node_modules/*' -exec dirname {} \; | sort)
GO ?= go

# The modules of the workspace (go.work) are built and tested together
# against the working tree. The others stand alone, with GOWORK=off:
# internal/e2e/hydra (Ory Hydra's dependency graph must stay out of every
# other module's build) and internal/tools (staticcheck's must too). In a
# recipe, $(wsdirs) sets the shell variable ws to the workspace's
# directories, then $(gowork) sets gw to the GOWORK value for module $$m:
# empty (the workspace) or off.
wsdirs = ws="$$(GOWORK= $(GO) list -m -f '{{.Dir}}')"
gowork = gw=off; if printf '%s\n' "$$ws" | grep -qxF "$$(cd $$m && pwd)"; then gw=; fi

# staticcheck, at the version internal/tools/go.mod pins: `go tool -n`
# builds it (the first time; then the build cache has it) and prints the
# binary's path. The binary runs in each module's directory, so that the
# go list it calls loads that module, in the workspace or alone.
staticcheck = GOWORK=off $(GO) -C internal/tools tool -n staticcheck

.PHONY: test lint tidy fmtcheck fmt demo bench hydra

# make test: gofmt check of every Go file; then in every module go vet,
# staticcheck and go test -race. internal/release's tests are the release
# checks: go mod tidy would change no go.mod or go.sum, and the published
# modules install from a module proxy (see RELEASING.md).
test: fmtcheck hydra
	@set -e; $(wsdirs); sc="$$($(staticcheck))"; for m in $(MODULES); do \
		echo "== $$m"; \
		$(gowork); \
		GOWORK=$$gw $(GO) -C $$m vet ./...; \
		(cd $$m && GOWORK=$$gw "$$sc" ./...); \
		GOWORK=$$gw $(GO) -C $$m test -race -count=1 ./...; \
	done

# make lint: go vet and staticcheck in every module (make test runs both).
lint: fmtcheck
	@set -e; $(wsdirs); sc="$$($(staticcheck))"; for m in $(MODULES); do \
		echo "== $$m"; \
		$(gowork); \
		GOWORK=$$gw $(GO) -C $$m vet ./...; \
		(cd $$m && GOWORK=$$gw "$$sc" ./...); \
	done

# make tidy: go mod tidy in every module, the way make test checks it
# (internal/release's TestTidy with -fix: GOWORK=off, the unreleased slo
# modules from a file-system proxy, and no go.sum lines for them).
tidy:
	$(GO) -C internal/release test -count=1 -run '^TestTidy$$' . -args -fix

# Ory Hydra for the interop tests (internal/e2e/hydraop), built into the Go
# build cache once before the tests: otherwise the test binaries that use it
# build it in parallel, within their test timeouts. A failed build is left
# to the tests, which skip without Hydra (or fail with CI=true).
hydra:
	@echo "== building Ory Hydra (internal/e2e/hydra)"
	@GOWORK=off $(GO) -C internal/e2e/hydra tool -n hydra >/dev/null || echo "Ory Hydra not built; its tests will say why"

fmtcheck:
	@files=$$(find . -name '*.go' -not -path '*/node_modules/*' | xargs gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi

fmt:
	@find . -name '*.go' -not -path '*/node_modules/*' | xargs gofmt -w

demo:
	$(GO) run ./examples/demo

# make bench: the benchmarks BENCHMARKS.md records (see there for each command).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./middleware/ ./logout/ ./rp/ ./internal/jwtclaims/ ./sessionstore/memstore/
	cd sessionstore/redisstore && $(GO) test -run='^$$' -bench=. -benchmem .
	cd sessionstore/pgstore && $(GO) test -run='^$$' -bench=. -benchmem .
