# Every Go module in the repository (directories holding a go.mod), core first.
MODULES := $(shell find . -name go.mod -not -path '*/node_modules/*' -exec dirname {} \; | sort)
GO ?= go

# The modules of the workspace (go.work) are built and tested together
# against the working tree. The others stand alone, with GOWORK=off:
# internal/e2e/hydra (Ory Hydra's dependency graph must stay out of every
# other module's build) and internal/tools (staticcheck and the release
# checks). In a recipe, $(wsdirs) sets the shell variable ws to the
# workspace's directories, then $(gowork) sets gw to the GOWORK value for
# module $$m: empty (the workspace) or off.
wsdirs = ws="$$($(GO) list -m -f '{{.Dir}}')"
gowork = gw=off; if printf '%s\n' "$$ws" | grep -qxF "$$(cd $$m && pwd)"; then gw=; fi

.PHONY: test fmtcheck fmt demo bench hydra

# make test: gofmt check of every Go file, then go vet and go test -race in
# every module.
test: fmtcheck hydra
	@set -e; $(wsdirs); for m in $(MODULES); do \
		echo "== $$m"; \
		$(gowork); \
		GOWORK=$$gw $(GO) -C $$m vet ./...; \
		GOWORK=$$gw $(GO) -C $$m test -race -count=1 ./...; \
	done

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
	$(GO) test -run='^$$' -bench=. -benchmem ./middleware/ ./logout/ ./sessionstore/memstore/
	cd sessionstore/redisstore && $(GO) test -run='^$$' -bench=. -benchmem .
	cd sessionstore/pgstore && $(GO) test -run='^$$' -bench=. -benchmem .
