# rtk-sidecar. `make run` starts the sidecar with the bundled LiveKit SFU;
# `make test` runs every test (unit, store contract on SQLite and PostgreSQL,
# the browser SDK's, and end-to-end with a real livekit-server and Chromium).

GO            ?= go
LIVEKIT_VER   := v1.13.5
LIVEKIT_BIN   := bin/livekit-server
SIDECAR_BIN   := bin/sidecar
CONFIG        ?= configs/dev.yaml
NPM           ?= npm
WEB           := web

# The test database: the local PostgreSQL server. Tests create and drop their
# own schemas in it.
RTK_TEST_POSTGRES_DSN ?= postgres://root@127.0.0.1:5432/test?sslmode=disable
export RTK_TEST_POSTGRES_DSN

.PHONY: run build sfu sdk web web-deps test unit fuzz e2e vet compose bench bench-api clean

run: build sfu
	./$(SIDECAR_BIN) -config $(CONFIG)

# The first build downloads the modules through the Go module proxy and
# compiles them; later builds reuse Go's caches.
build:
	@echo "== building $(SIDECAR_BIN) and bin/rtkctl (the first time: the Go modules are downloaded and compiled, a few minutes; then seconds)"
	$(GO) build -o $(SIDECAR_BIN) ./cmd/sidecar
	$(GO) build -o bin/rtkctl ./cmd/rtkctl

# The bundled SFU: livekit-server, pinned, built by the Go toolchain
# (later versions cannot be fetched through the module proxy).
sfu: $(LIVEKIT_BIN)

$(LIVEKIT_BIN):
	@echo "== building the bundled SFU, livekit-server $(LIVEKIT_VER), into $(LIVEKIT_BIN) (once: a minute or two, more when its modules are downloaded first)"
	mkdir -p bin
	GOBIN=$(CURDIR)/bin.tmp $(GO) install github.com/livekit/livekit-server/cmd/server@$(LIVEKIT_VER)
	mv bin.tmp/server $(LIVEKIT_BIN) && rmdir bin.tmp

# The browser SDK (web/): its npm packages, installed from package-lock.json
# when missing or older than it (never a downloaded browser: the tests use
# Debian's chromium).
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 $(NPM) ci --no-audit --no-fund

web-deps: $(WEB)/node_modules/.package-lock.json

# The SDK's bundle, web/dist/sdk/rtk-client.js, and the meeting app,
# web/dist/app/, are committed and embedded in the binary (served at
# /sdk/rtk-client.js, / and /app/); `make sdk` rebuilds both.
sdk: web-deps
	cd $(WEB) && $(NPM) run --silent build

# The SDK's and the app's own checks: types, the committed files against a
# build of their sources, and the SDK's unit tests (Node).
web: web-deps
	cd $(WEB) && $(NPM) run --silent check && $(NPM) run --silent verify && $(NPM) test

# Every test. Nothing may skip: PostgreSQL, the SFU, Chromium and the network
# namespace for media tests are required (run as root).
test: vet compose web unit fuzz e2e

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/

# docker-compose.yml and the scaled shape, docker-compose.scale.yml, must
# resolve (no Docker engine is needed for that), with every variable they
# require set.
compose:
	@set -e; for f in docker-compose.yml docker-compose.scale.yml; do \
		LIVEKIT_API_KEY=key LIVEKIT_API_SECRET=secret-0123456789-0123456789-012345 LIVEKIT_NODE_IP=192.0.2.10 \
		RTK_AUTH_KEYS='[]' RTK_RECORDING_SIGNING_KEY=0123456789abcdef \
			docker-compose -f $$f config -q; echo "$$f resolves"; \
	done

unit: sfu
	RTK_REQUIRE_POSTGRES=1 RTK_REQUIRE_SFU=1 LIVEKIT_SERVER_BIN=$(CURDIR)/$(LIVEKIT_BIN) \
		$(GO) test -race -count=1 ./...

# The fuzz targets, a few seconds each (one go test per target: -fuzz takes one). Their seeds
# are in each package's testdata/fuzz and run with `unit` too.
FUZZ_TARGETS := sidecar:FuzzRequestBody presets:FuzzDecode presets:FuzzPatch tokens:FuzzVerify
FUZZ_TIME    ?= 3s

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz $$fn ($$pkg, $(FUZZ_TIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZ_TIME) ./$$pkg/; \
	done

# The end-to-end tests write their processes' logs as they run, so a failure
# can scroll far out of sight: the whole output is kept in $(E2E_LOG), and when
# a test fails its report (the --- FAIL lines with the test's own log, or a
# panic) is printed again at the end. E2E_FLAGS adds go test flags (-run, -v).
E2E_LOG   ?= bin/e2e.log
E2E_FLAGS ?=

e2e: sfu web-deps
	@mkdir -p $(dir $(E2E_LOG)); rm -f $(E2E_LOG).rc; \
	{ RTK_E2E_REQUIRED=1 LIVEKIT_SERVER_BIN=$(CURDIR)/$(LIVEKIT_BIN) \
		$(GO) test -tags e2e -count=1 -timeout 30m $(E2E_FLAGS) ./e2e/; echo $$? > $(E2E_LOG).rc; } 2>&1 | tee $(E2E_LOG); \
	rc=$$(cat $(E2E_LOG).rc); if [ "$$rc" != 0 ]; then \
		echo "== e2e failed; the failures again (whole output: $(E2E_LOG)):"; \
		awk '/^ *--- FAIL/ {p=1; print; next} /^panic:/ {p=2} p==2 {print; next} p==1 && /^    / {print; next} {p=0}' $(E2E_LOG) | head -n 300; \
	fi; exit $$rc

# The benchmarks of connected meetings (docs/benchmarks.md): single moves
# and the start of 100 participants into 10 rooms, made-before-break (with
# and without prepared connections) against a naive rejoin in the same run,
# against the real SFU (about 9 minutes on 2 cores: the start joins 100
# clients three times). They are tests gated by RTK_E2E_BENCH, so `make test`
# skips them; results are the lines with BENCH. RTK_BENCH_MOVES,
# RTK_BENCH_START and RTK_BENCH_ROOMS change the sizes;
# RTK_BENCH_START_MODES=prepared (or mbb, or naive) runs one start only.
# TestBenchmarkPublishBurst, an experiment (docs/livekit-notes.md §5), runs with them, and
# so does TestBenchmarkBrowserMove: single moves of Chromium pages with the browser
# SDK, and the SDK's bundle size (docs/benchmarks-browser.md); and TestBenchmarkAppInteractive:
# the meeting app's time to interactive, one page at a time.
bench: sfu web-deps
	RTK_E2E_REQUIRED=1 RTK_E2E_BENCH=1 LIVEKIT_SERVER_BIN=$(CURDIR)/$(LIVEKIT_BIN) \
		$(GO) test -tags e2e -count=1 -v -run '^TestBenchmark' -timeout 30m ./e2e/

# The REST API's throughput and the sidecar's own time for a start
# (docs/benchmarks-scale.md): cmd/benchapi
# starts bin/sidecar (LiveKit external, not called by the routes measured)
# on SQLite, on PostgreSQL ($$RTK_TEST_POSTGRES_DSN) and as 2 processes on
# PostgreSQL, and loads add-participant and GET meeting from 50 clients for
# BENCH_API_DURATION each; then the start of 100 to 1,000 participants
# against in-memory LiveKits. About 2 minutes; nothing else should run.
BENCH_API_DURATION ?= 10s
BENCH_API_FLAGS    ?=

bench-api: build
	$(GO) build -o bin/benchapi ./cmd/benchapi
	./bin/benchapi -sidecar $(SIDECAR_BIN) -duration $(BENCH_API_DURATION) $(BENCH_API_FLAGS)
	RTK_BENCH_SIDECAR_START=1 $(GO) test -count=1 -v -run '^TestBenchmarkStartSidecar$$' ./breakouts/

clean:
	rm -rf bin bin.tmp
