# runapp: the last step between systemd and a Python web app.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     ?= bin/runapp
# The platform to build for: GOOS and GOARCH from the command line or the
# environment, else go's own.
GOOS    ?= $(shell $(GO) env GOOS)
GOARCH  ?= $(shell $(GO) env GOARCH)
# -E: the entry point that records the signal state the runtime changes
# (internal/startsig), on the platforms that have one (entry_GOOS_GOARCH.s);
# elsewhere runapp builds without it, and runapp check says so.
ENTRY    = $(if $(wildcard internal/startsig/entry_$(GOOS)_$(GOARCH).s),-E github.com/runapp/runapp/internal/startsig.entry)
LDFLAGS  = -s -w -X main.version=$(VERSION) $(ENTRY)
PYTHON  ?= /usr/bin/python3

.PHONY: all build test e2e lint bench fuzz demo demo-asgi demo-fastapi clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## static, version-stamped binary in bin/runapp
	CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/runapp

test: ## every test: unit, differential, integration and end-to-end
	scripts/deps test
	$(GO) test -count=1 -timeout 60m ./...

e2e: ## only the end-to-end tests under a booted systemd
	scripts/deps test
	$(GO) test -count=1 -timeout 60m -run 'TestE2E' -v ./integration/...

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build ## launch cost against the bash run script, and Go benchmarks (BENCHMARKS.md)
	scripts/deps bench
	$(GO) run ./bench/launch -runapp $(BIN)

# The fuzz target, and the package whose tests define it.
FUZZTARGET = $(or $(FUZZ),FuzzParse)
FUZZPKG    = $(or $(patsubst %/,%,$(dir $(shell grep -rl --include='*_test.go' --exclude-dir=.venv '^func $(FUZZTARGET)\b' .))),$(error no fuzz target $(FUZZTARGET)))

fuzz: ## fuzz one target (FUZZ=FuzzParse, FuzzDifferential, FuzzWriteJSON or FuzzListen; FUZZTIME=1m)
	$(GO) test -run '^$$' -fuzz '^$(FUZZTARGET)$$' -fuzztime $(or $(FUZZTIME),1m) $(FUZZPKG)

demo: build ## serve the example Django app through runapp on http://127.0.0.1:8000/
	scripts/deps demo
	scripts/mkvenv example/.venv
	$(BIN) --app-dir example -- --bind 127.0.0.1:8000 project.wsgi

demo-asgi: build ## the example Django app's asgi.py (async view /async/slow) under uvicorn, on :8000
	scripts/deps demo
	scripts/mkvenv example/.venv
	$(BIN) --app-dir example --server uvicorn -- --host 127.0.0.1 --port 8000 project.asgi:application

demo-fastapi: build ## the FastAPI example (example/fastapi) under uvicorn, on :8000
	scripts/deps demo
	scripts/mkvenv example/.venv
	$(BIN) --app-dir example/fastapi --venv $(CURDIR)/example/.venv --server uvicorn -- --host 127.0.0.1 --port 8000 api:app

clean: ## remove what the build made
	rm -rf bin example/.venv
