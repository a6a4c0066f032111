# Sluice — build, run, test.
GO          ?= go
BIN         ?= bin/sluice
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test check fmt bench-go clean release release-check overload

all: build

# The first build on a fresh machine downloads modules and compiles for
# minutes with nothing else to show, so say so first.
build:
	@echo 'building sluice (first build takes a few minutes)…'
	$(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

# The quick start: the in-process mock and the gateway on embedded defaults.
# Prints a curl line to try once the gateway is ready; Ctrl-C stops it.
run: build
	./$(BIN) serve --config examples/quickstart.yaml --print-curl

# The whole suite, as CI runs it.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Static checks: formatting, vet, staticcheck (pinned).
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The chaos suite (docs/operations.md, "Chaos suite"): a private PostgreSQL
# and Redis, the mock and two instances built from this tree, on loopback
# ports of their own; each fault under load, checked against the documented
# bounds. About a minute after the build; exits 1 when a bound is broken.
# Results (results.json, table.txt, the processes' logs) in CHAOS_OUT.
CHAOS_OUT ?= /tmp/sluice-chaos
.PHONY: chaos
chaos:
	$(GO) run ./tools/chaos -out $(CHAOS_OUT) $(CHAOS_FLAGS)

# Hot-path micro-benchmarks (see docs/benchmarks.md).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/provider ./internal/sse ./internal/gateway ./internal/auth

clean:
	rm -rf bin dist

# Release binaries for linux/amd64, linux/arm64 and darwin/arm64 in dist/,
# static and reproducible, with SHA256SUMS and a CycloneDX SBOM each; refuses
# a tree with changes not committed unless ALLOW_DIRTY=1 (docs/releases.md).
release:
	VERSION='$(VERSION)' GO='$(GO)' scripts/release.sh

# The same commit builds a byte-identical linux/amd64 release twice, in two
# clones at different paths, each with its own empty GOCACHE (two cold
# builds, minutes; RELEASE_CHECK_CACHE=shared for seconds) (docs/releases.md).
release-check:
	GO='$(GO)' scripts/release-check.sh

# The standard comparison: direct (the mock) vs Sluice tiers vs nginx proxy_pass, sized for
# a 2-core machine; writes bench/results/<date>-<host>/ (see docs/benchmarks.md).
.PHONY: bench
bench:
	bench/scripts/make-bench.sh

# Sluice at twice its capacity: every request answered (served or 503), none
# hanging or reset, memory under the ceiling; reports the served p99 at half
# and twice the knee (bench/scripts/overload.sh, docs/operations.md). ~3 min.
overload:
	bench/scripts/overload.sh

# The soak (docs/operations.md, "Soak"): two instances with request logging to
# a private PostgreSQL, a private Redis and the spool, loaded at 70 % of the
# capacity measured first (or RATE= requests a second) for DURATION while light
# faults run in the background; samples RSS, goroutines, descriptors, spool and
# rows, writes OUT/soak.json and OUT/soak.svg, exits 1 on growth beyond 5 %
# after the warm-up, an undrained spool or a lost row. Minutes to hours: never
# in CI; stops by itself within DURATION + 3 min.
.PHONY: soak
soak: DURATION ?= 10m
soak: OUT ?= /tmp/sluice-soak
soak: build
	$(GO) build -o bin/soak ./tools/soak
	./bin/soak -bin $(BIN) -duration $(DURATION) $(if $(RATE),-rate $(RATE)) -out $(OUT)
