#!/usr/bin/env bash
# scripts/demo.sh — what `make demo` runs: the job end to end on the sample events, offline,
# in a fresh database "relator_demo" on the server of DATABASE_URL (make db's by default).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/relator}
SAMPLE=${SAMPLE:-testdata/wikitimes-2015-09/events.jsonl}
: "${DATABASE_URL:?DATABASE_URL is not set (make demo sets it from make db)}"

# Same server, database relator_demo: replace the URL's path, keep its query.
base=${DATABASE_URL%%\?*}
query=${DATABASE_URL#"$base"}
DEMO_URL="${base%/*}/relator_demo$query"
psql -q -X -v ON_ERROR_STOP=1 "$DATABASE_URL" \
	-c 'DROP DATABASE IF EXISTS relator_demo WITH (FORCE)' -c 'CREATE DATABASE relator_demo' >/dev/null
export DATABASE_URL=$DEMO_URL

step() { printf '\n== %s\n' "$*"; }
start=$(date +%s)
step "relator migrate";                      "$BIN" migrate
step "relator import $SAMPLE";               "$BIN" import "$SAMPLE"
step "relator run";                          "$BIN" run
step "relator run (again: nothing to do)";   "$BIN" run
step "relator runs";                         "$BIN" runs
step "relator status";                       "$BIN" status
step "relator show --most-related";          "$BIN" show --most-related
printf '\ndemo: done in %ss. The data stays in database relator_demo: DATABASE_URL=%s\n' "$(($(date +%s) - start))" "$DEMO_URL"
