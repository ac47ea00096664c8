# Tidemark — see README.md. Every target works on a fresh machine with Go and (for tests) PostgreSQL.
GO        ?= go
BIN       ?= bin/tidemark
TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: run build test test-race bench soak lint fmt clean

run: ## start the service on the embedded SQLite default under ./var/
	$(GO) run ./cmd/tidemark serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./cmd/tidemark

test: ## the whole suite: unit, conformance (SQLite + PostgreSQL), e2e, reliability, fuzz seeds
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

test-race:
	$(GO) test -race $(TEST_FLAGS) ./...

bench: ## every benchmark; figures beside same-run baselines in bench/out/report.md (+ report.json)
	mkdir -p bench/out
	-CGO_ENABLED=0 $(GO) test -trimpath -p 1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./... 2>&1 | tee bench/out/gobench.txt
	CGO_ENABLED=0 $(GO) run -trimpath ./bench

soak: ## longer reliability variants
	TIDEMARK_SOAK=1 $(GO) test $(TEST_FLAGS) -run 'Reliab|Stress|Soak' ./...

lint: ## gofmt, go vet, and golangci-lint (.golangci.yml) when it is installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; \
	else echo "golangci-lint not installed: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.6.2"; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin var bench/out
