# hotspot — two commands on a fresh machine:
#   make run    the demo (embedded store, no Redis needed)
#   make test   the whole suite (installs redis-server and radclient as root)

GO       ?= go
BIN      := bin
CONFIG   ?= deploy/demo.yaml
FUZZTIME ?= 5s

# command:Debian package, for what the tests run.
TEST_TOOLS := redis-server:redis-server radclient:freeradius-utils

# Native fuzz targets: package:target.
FUZZ_TARGETS := ./session:FuzzParseMAC ./radius:FuzzHandlePacket ./radius:FuzzMessageAuthenticator \
                ./portal:FuzzRedirect ./portal:FuzzAccept

.PHONY: all build run test deps check generate check-generate unit fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/hotspotd ./cmd/hotspotd

run: build
	$(BIN)/hotspotd -config $(CONFIG)

## test: everything CI runs. A missing tool is an error, never a skip.
test: deps check unit fuzz

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

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

clean:
	rm -rf $(BIN)
