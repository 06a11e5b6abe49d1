# Every Go module in the repository (directories holding a go.mod), core first.
MODULES := $(shell find . -name go.mod -not -path '*/node_modules/*' -exec dirname {} \; | sort)
GO ?= go
RACE ?= -race

.PHONY: test fmt vet demo bench fuzz

# make test: for every module, gofmt check, go vet and go test -race.
test:
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		unformatted=$$(cd $$m && gofmt -l . | grep -v node_modules || true); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed in $$m:"; echo "$$unformatted"; exit 1; fi; \
		(cd $$m && $(GO) vet ./... && $(GO) test $(RACE) -count=1 ./...); \
	done

fmt:
	@for m in $(MODULES); do (cd $$m && gofmt -w .); done

demo:
	$(GO) run ./examples/demo

# make bench: the benchmarks BENCHMARKS.md records.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
