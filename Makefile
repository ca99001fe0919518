# relator's two commands are `make demo` and `make test`; both start (and,
# where missing, install) the private PostgreSQL + pgvector of `make db`.
# With DATABASE_URL set, everything uses that server instead.

SHELL := /bin/bash
GO    ?= go
BIN   := bin/relator
SAMPLE := testdata/wikitimes-2015-09/events.jsonl

# Starts the local database unless DATABASE_URL is set, and exports it.
WITH_DB = if [ -z "$${DATABASE_URL:-}" ]; then line=$$(bash scripts/db.sh start) || exit 1; export "$$line"; fi;

.PHONY: build db db-stop test fuzz demo eval bench chaos clean

build:
	$(GO) build -o $(BIN) ./cmd/relator

db:
	@bash scripts/db.sh start

db-stop:
	@bash scripts/db.sh stop

test:
	@$(WITH_DB) \
	$(GO) vet ./... && \
	$(GO) test -count=1 -timeout 30m ./...

# A short bounded run of each fuzz target (FUZZTIME each, 10s by default)
# from its committed seed corpus (testdata/fuzz/); CI runs it after
# `make test`. Needs no database. A failure is written to testdata/fuzz/ as a
# new seed: commit it with its fix.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./prompts
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME) ./analyzer

demo: build
	@$(WITH_DB) BIN=$(BIN) SAMPLE=$(SAMPLE) bash scripts/demo.sh

eval: build
	@$(WITH_DB) $(BIN) eval --events $(SAMPLE) --k 15 --json

# The standard measurements (BENCHMARKS.md); under 10 minutes on 2 cores.
bench: build
	@$(WITH_DB) BIN=$(BIN) bash scripts/bench.sh

# The crash test long: 20 SIGKILLs over 2,000 events, and the database faults
# (scripts/chaos.sh; RELATOR_CHAOS_KILLS, _EVENTS, _SEED change it).
chaos:
	@$(WITH_DB) bash scripts/chaos.sh

clean:
	rm -rf bin
