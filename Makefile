# The two commands: `make demo` (the product end to end on local servers) and `make test`.
# Both install what they need (Debian packages via apt-get) and start real servers on 127.0.0.1.
.PHONY: deps build test e2e fuzz demo demo-stop check-deploy bench bench-fleet bench-all bench-clients bench-bridge bench-jobs bench-worker bench-flight bench-gateway bench-mysql-bridge stack-up stack-down lint clean

deps:
	scripts/stack.sh install

build: deps
	swift build --build-tests

test: deps
	scripts/test.sh

e2e: deps
	scripts/e2e.sh

demo: deps
	scripts/demo.sh

# Stops a fleet `make demo` left running (its Ctrl-C does the same).
demo-stop:
	scripts/demo-stop.sh

# The deployment files validated offline (no Docker engine or cluster here): shellcheck, the
# image's libraries, compose profiles, Kubernetes overlays, example configurations.
check-deploy: deps
	swift build
	scripts/check-deploy.sh

# libFuzzer on the parsers of outside input, FUZZ_SECONDS (default 60) per target (docs/security.md).
fuzz: deps
	scripts/fuzz.sh

# The fleet benchmark (end to end, about 5 minutes after the release build); bench-all adds the
# per-component benchmarks.
bench: bench-fleet

bench-fleet: deps
	scripts/bench-fleet.sh

bench-all: bench-fleet bench-clients bench-bridge bench-jobs bench-worker bench-flight bench-mysql-bridge

bench-clients: deps
	@command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
	scripts/bench-clients.sh

bench-bridge: deps
	@command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
	scripts/bench-bridge.sh

bench-jobs: deps
	scripts/bench-jobs.sh

bench-worker: deps
	@command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
	scripts/bench-worker.sh

bench-gateway: deps
	scripts/bench-gateway.sh

bench-mysql-bridge: deps
	@command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
	scripts/bench-mysql-bridge.sh

bench-flight: deps
	@command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
	scripts/bench-flight.sh

stack-up: deps
	scripts/stack.sh up

stack-down:
	scripts/stack.sh down

lint:
	swift format lint --strict --recursive Package.swift Shared Services Tests Benchmarks Fuzz

clean:
	rm -rf .build .build-* bench/bin
