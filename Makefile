# mirrorfs — see README.md. `make run` and `make test` work on a fresh machine:
# both install what is missing first (scripts/deps.sh).
GO      ?= go
BIN     ?= bin/mirrorfs
PREFIX  ?= /usr/local
GOFLAGS ?=
TESTFLAGS ?= -count=1 -timeout 25m

.PHONY: all build deps test unit e2e vet fmt run clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/mirrorfs

deps:
	@scripts/deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }

# The whole suite: unit tests, real FUSE mounts, a real rsync daemon on 127.0.0.1.
test: deps vet build
	$(GO) test $(TESTFLAGS) ./...

unit: vet
	$(GO) test $(TESTFLAGS) ./config/... ./control/... ./mirror/... ./cmd/...

e2e: deps build
	$(GO) test $(TESTFLAGS) ./tests/...

# Mount a demo directory over itself and mirror it to a local rsync daemon.
run: deps build
	@scripts/demo.sh $(BIN)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin demo
