# hotspot — two commands on a fresh machine:
#   make run    the demo (embedded store, no Redis needed)
#   make test   the whole suite (installs redis-server and radclient as root)

GO       ?= go
BIN      := bin
CONFIG   ?= deploy/demo.yaml
# Each fuzz target runs this many inputs in make test. A count, not a
# duration: with a short duration Go's fuzz coordinator can end with
# "context deadline exceeded" when its deadline hits while the workers are
# still gathering the cached corpus (seen in CI), failing a run that found
# nothing. Longer runs: make fuzz FUZZTIME=10m.
FUZZTIME ?= 10000x

# command:Debian package, for what the tests run. chromium runs the portal's
# browser tests (portal/browser_test.go); npm installs axe-core for them.
TEST_TOOLS := redis-server:redis-server radclient:freeradius-utils chromium:chromium npm:npm

# Debian packages without a command: a CJK font, so that screenshots show
# the language switch's 简体中文 rather than boxes. Installed as root, not required.
TEST_PACKAGES := fonts-wqy-microhei

# axe-core checks every portal page in the browser tests. npm installs it
# into a git-ignored cache; neither its code nor node_modules is committed.
AXE_VERSION := 4.14.1
AXE_DIR     := .cache/axe
AXE_JS      := $(AXE_DIR)/node_modules/axe-core/axe.min.js
SCREENSHOTS := screenshots/out

# Native fuzz targets: package:target.
FUZZ_TARGETS := ./session:FuzzParseMAC ./radius:FuzzHandlePacket ./radius:FuzzMessageAuthenticator ./radius:FuzzDynAuthReply \
                ./portal:FuzzRedirect ./portal:FuzzAccept ./portal:FuzzMikroTik \
                ./session:FuzzParseCursor ./session:FuzzMaskMAC ./portal:FuzzSessionQuery ./session:FuzzSpoolReplay

.PHONY: all build run test deps check generate check-generate unit race fuzz clean screenshots bench bench-scale profile

all: build

build:
	$(GO) build -o $(BIN)/hotspotd ./cmd/hotspotd
	$(GO) build -o $(BIN)/hotspotctl ./cmd/hotspotctl

run: build
	$(BIN)/hotspotd -config $(CONFIG)

## test: everything CI runs. A missing tool is an error, never a skip.
test: deps check unit race fuzz

## deps: install what the tests need (as root, with apt-get), or say what is missing.
deps:
	@missing=""; \
	for pair in $(TEST_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing test tools:$$missing" >&2; \
	    echo "install them with: sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi; \
	for pair in $(TEST_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || { echo "still missing: $${pair%%:*}" >&2; exit 1; }; \
	done
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  for p in $(TEST_PACKAGES); do \
	    dpkg -s "$$p" >/dev/null 2>&1 || { echo "installing: $(TEST_PACKAGES)"; \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES) >/dev/null || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES) >/dev/null; }; break; }; \
	  done; \
	fi
	@if ! head -c 64 $(AXE_JS) 2>/dev/null | grep -q "axe v$(AXE_VERSION)"; then \
	  echo "installing axe-core $(AXE_VERSION) into $(AXE_DIR)"; \
	  npm install --prefix $(AXE_DIR) --no-audit --no-fund --save-exact axe-core@$(AXE_VERSION) >/dev/null && \
	  head -c 64 $(AXE_JS) | grep -q "axe v$(AXE_VERSION)" || \
	  { echo "could not install axe-core $(AXE_VERSION): run npm install --prefix $(AXE_DIR) axe-core@$(AXE_VERSION)" >&2; exit 1; }; \
	fi

## check: formatting, vet, tidy modules, generated code up to date.
check: check-generate
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

generate:
	$(GO) generate ./...

## check-generate: make generate reproduces the committed files exactly.
check-generate:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for f in $$(git ls-files '*generated.go'); do mkdir -p $$tmp/$$(dirname $$f); cp $$f $$tmp/$$f; done; \
	$(GO) generate ./... && \
	for f in $$(git ls-files '*generated.go'); do \
	  cmp -s $$f $$tmp/$$f || { echo "$$f differs from make generate's output"; cp $$tmp/$$f $$f; exit 1; }; \
	done

unit:
	$(GO) test -count=1 ./...

## race: the suite again under the race detector (the server, the store
## and the portal are concurrent throughout).
race:
	$(GO) test -race -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## bench: hotspotd against FreeRADIUS 3.2 + rlm_redis under the same load
## (installs them as root); the table goes to bench/out/ (bench/README.md).
bench:
	$(GO) build -o $(BIN)/hotspotd ./cmd/hotspotd
	$(GO) build -o $(BIN)/radload ./cmd/radload
	bench/run.sh

## bench-scale: Redis memory and daemon RSS at 100k devices and sessions,
## and a mixed run whose ledger must equal what was sent.
bench-scale:
	$(GO) build -o $(BIN)/hotspotd ./cmd/hotspotd
	$(GO) build -o $(BIN)/radload ./cmd/radload
	bench/scale.sh

## profile: CPU and allocation profiles of hotspotd and Redis's command
## statistics under one load scenario (PROFILE_SCENARIO=acct|auth|mac-auth).
profile:
	$(GO) build -o $(BIN)/hotspotd ./cmd/hotspotd
	$(GO) build -o $(BIN)/radload ./cmd/radload
	bench/profile.sh

## screenshots: every portal page at phone size (360x740) in de, en and ar,
## as PNGs in screenshots/out/ (git-ignored), from the browser tests.
screenshots: deps
	$(GO) test -count=1 -run '^TestBrowser$$/^pages$$' ./portal -args -screenshots=$(CURDIR)/$(SCREENSHOTS)
	@echo "screenshots in $(SCREENSHOTS)/"

clean:
	rm -rf $(BIN)
