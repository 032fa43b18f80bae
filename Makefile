# otelcol-dynamo: the two set-up commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/otelcol-dynamo
GOFILES  = $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './local-data/*')

# Tests that run the collector binary use this one instead of building their own.
export OTELCOL_DYNAMO_BIN := $(CURDIR)/$(BIN)

.PHONY: all build run test unit generate lint bench e2e fuzz fuzz-short reliability docker k8s clean

all: build

## build: compile the distribution into bin/otelcol-dynamo
build:
	$(GO) build -o $(BIN) ./cmd/otelcol-dynamo

## run: build and run the collector on configs/local.yaml (no outside service needed)
run: build
	mkdir -p local-data/logs local-data/out
	./$(BIN) --config configs/local.yaml

## test: the whole suite: lint, build, unit and integration tests, end-to-end tests
test: lint build unit fuzz-short e2e

## unit: go test for every package (includes config validation and the generate check)
unit: build
	$(GO) test -count=1 ./...

## generate: regenerate cmd/otelcol-dynamo from builder-config.yaml
generate:
	$(GO) tool builder --config builder-config.yaml --skip-compilation --skip-get-modules
	rm -f cmd/otelcol-dynamo/go.mod cmd/otelcol-dynamo/go.sum
	gofmt -w cmd/otelcol-dynamo

## lint: gofmt and go vet
lint:
	@out="$$(gofmt -l $(GOFILES))"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: our components side by side with their stock baselines, one run, one table (BENCHMARKS.md)
BENCH_COUNT ?= 5
BENCH_TIME ?= 500ms
BENCH_PIPELINE_SECONDS ?= 6
# BENCH_COUNT rounds of the whole suite, each benchmark once per round
# (-count 1): the two sides of every comparison run seconds apart in every
# round, so that a machine that drifts over the run (a shared VM does) moves
# both sides alike. Each benchmark runs in a process of its own, so that none
# measures the heap another left behind (after the whole-process pipeline
# runs, the processor's log records measured half as fast in the same
# process as in a fresh one).
bench: build
	@mkdir -p local-data/bench
	@rm -f local-data/bench/bench.txt
	@set -e; benches=$$($(GO) test -list '^Benchmark' ./test/bench/ | grep '^Benchmark'); \
	for i in $$(seq $(BENCH_COUNT)); do \
		for b in $$benches; do \
			echo "== round $$i of $(BENCH_COUNT): $$b"; \
			BENCH_PIPELINE_SECONDS=$(BENCH_PIPELINE_SECONDS) $(GO) test -run '^$$' -bench "^$$b\$$" -benchmem -count 1 -benchtime $(BENCH_TIME) -timeout 60m ./test/bench/ | tee -a local-data/bench/bench.txt; \
		done; \
	done
	$(GO) run ./test/bench/cmd/benchtable < local-data/bench/bench.txt | tee local-data/bench/table.md

## e2e: end-to-end tests against real trace and log stores (Jaeger v2, VictoriaLogs;
## scripts/backends.sh builds them once into $HOME/.cache, a few minutes when cold)
e2e: build
	$(GO) vet -tags e2e ./test/e2e/...
	bash scripts/backends.sh
	$(GO) test -tags e2e -count=1 -v -timeout 30m ./test/e2e/...

## fuzz: run each fuzz target (every `func FuzzX` in a _test.go file) for FUZZTIME, default 1m;
## a failing input is written to the package's testdata/fuzz/FuzzX/ and becomes a regression seed
FUZZTIME ?= 1m
fuzz:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME)

## fuzz-short: every fuzz target for a few seconds (part of make test)
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$${FUZZTIME_SHORT:-5s}

## reliability: the full-length reliability runs whose figures RELIABILITY.md quotes
reliability: build
	bash scripts/backends.sh
	@mkdir -p local-data
	@echo "reliability: full-length runs (about 8 minutes); log in local-data/reliability.txt"
	@RELIABILITY_LONG=1 $(GO) test -count=1 -v -timeout 60m ./test/reliability/ > local-data/reliability.txt 2>&1 \
	  || { tail -n 100 local-data/reliability.txt; exit 1; }
	@grep -E 'RESULT|^(ok|---)' local-data/reliability.txt

## docker: build the container image (needs a Docker engine)
docker:
	docker build -t otelcol-dynamo:latest .

## k8s: regenerate the Kubernetes ConfigMaps (configs/k8s/configmaps.yaml) from configs/
k8s:
	$(GO) run ./internal/k8sgen/cmd/k8sgen

clean:
	rm -rf bin local-data
