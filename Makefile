# Every Go module in the repository (directories holding a go.mod), core first.
MODULES := $(shell find . -name go.mod -not -path '*/node_modules/*' -exec dirname {} \; | sort)
GO ?= go

.PHONY: test fmtcheck fmt demo bench

# make test: gofmt check of every Go file, then go vet and go test -race in
# every module.
test: fmtcheck
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 ./...); \
	done

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
