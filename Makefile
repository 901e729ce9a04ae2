# runapp: the last step between systemd and a Python web app.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit runapp version reports (go's own -buildvcs misses a worktree).
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
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
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) $(ENTRY)
PYTHON  ?= /usr/bin/python3

# The platforms make deb and make release build for (Debian's names are Go's).
ARCHES  ?= amd64 arm64
DIST    ?= dist

# Where make install puts things (DESTDIR is prepended, for staging).
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

# The man page and the completions, generated and committed: make man and
# make completions write them from the command table's flag sets and help
# text and the README, and go test ./cmd/runapp fails when the committed
# files differ from what the code generates.
MANPAGE     = packaging/runapp.1
COMPLETIONS = packaging/completions/runapp.bash packaging/completions/_runapp

# Every file make install installs, as MODE:SOURCE:DESTINATION; make
# uninstall removes exactly these, and make deb packages them.
INSTALLS = 0755:$(BIN):$(BINDIR)/runapp \
	0644:$(MANPAGE):$(MANDIR)/man1/runapp.1 \
	0644:packaging/completions/runapp.bash:$(BASHCOMPDIR)/runapp \
	0644:packaging/completions/_runapp:$(ZSHCOMPDIR)/_runapp

.PHONY: all build install uninstall deb release man completions test test-arm64 e2e lint bench fuzz demo demo-asgi demo-fastapi clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## static, version-stamped binary in bin/runapp
	CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/runapp

install: build ## install into PREFIX (/usr/local); DESTDIR=DIR stages it under DIR
	@for f in $(INSTALLS); do set -- $$(echo "$$f" | tr : ' '); \
		echo "install -D -m $$1 $$2 $(DESTDIR)$$3"; \
		install -D -m "$$1" "$$2" "$(DESTDIR)$$3" || exit; \
	done

uninstall: ## remove exactly what make install installed
	@for f in $(INSTALLS); do set -- $$(echo "$$f" | tr : ' '); \
		echo "rm -f $(DESTDIR)$$3"; rm -f "$(DESTDIR)$$3" || exit; \
	done

deb: ## Debian packages $(DIST)/runapp_VERSION_ARCH.deb for amd64 and arm64 (packaging/mkdeb)
	@for a in $(ARCHES); do DIST=$(DIST) MAKE=$(MAKE) packaging/mkdeb $$a || exit; done

release: ## the static binary, the .deb and SHA256SUMS for linux/amd64 and linux/arm64 in dist/
	rm -rf $(DIST)
	@$(MAKE) -s deb
	cd $(DIST) && sha256sum runapp-linux-* runapp_*.deb >SHA256SUMS
	@cat $(DIST)/SHA256SUMS

man: ## regenerate packaging/runapp.1 from the command table and the README
	$(GO) test -count=1 -run '^TestManPage$$' ./cmd/runapp -update

completions: ## regenerate packaging/completions (bash, zsh) from the flag sets
	$(GO) test -count=1 -run '^TestCompletionScripts$$' ./cmd/runapp -update

# test also runs the Go benchmarks once each, so that a fixture runapp no
# longer accepts fails here rather than in make bench.
test: ## every test: unit, differential, integration and end-to-end, and the arm64 ones
	scripts/deps test
	$(GO) test -count=1 -timeout 60m ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./envfile ./launcher
	@$(MAKE) -s test-arm64

# The packages whose tests are about this machine rather than the code: the
# integration suite (it runs arm64 runapp under qemu itself, where that
# shows something: see TestSignalDisposition), the packaging and the bench.
ARM64_SKIP = /integration$$|/packaging$$|/bench

test-arm64: ## the unit and differential tests built for arm64, run under qemu-user
	scripts/deps test
	GOARCH=arm64 $(GO) test -count=1 -timeout 30m -exec qemu-aarch64-static $$($(GO) list ./... | grep -Ev '$(ARM64_SKIP)')

e2e: ## only the end-to-end tests under a booted systemd
	scripts/deps test
	$(GO) test -count=1 -timeout 60m -run 'TestE2E' -v ./integration/...

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build ## launch cost against the bash run script (COMPARE=BIN: and against another runapp), Go benchmarks, deploys under load (BENCHMARKS.md)
	scripts/deps bench
	$(GO) run ./bench/launch -runapp $(BIN) $(if $(COMPARE),-compare $(COMPARE))
	$(GO) run ./bench/deploy

# The fuzz target, and the package whose tests define it.
FUZZTARGET = $(or $(FUZZ),FuzzParse)
FUZZPKG    = $(or $(patsubst %/,%,$(dir $(shell grep -rl --include='*_test.go' --exclude-dir=.venv '^func $(FUZZTARGET)\b' .))),$(error no fuzz target $(FUZZTARGET)))

fuzz: ## fuzz one target (FUZZ=FuzzParse, FuzzDifferential, FuzzFmt, FuzzWriteJSON, FuzzListen, FuzzArgv or FuzzBlockYAML; FUZZTIME=1m)
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
	rm -rf bin $(DIST) example/.venv
