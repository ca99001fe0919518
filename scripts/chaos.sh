#!/usr/bin/env bash
# scripts/chaos.sh — what `make chaos` runs: the crash test long. `relator run` over
# RELATOR_CHAOS_EVENTS (default 2000) synthetic events against the fake model server,
# SIGKILLed RELATOR_CHAOS_KILLS (default 20) times at seeded random moments (embedding,
# calls in flight, between an answer and its write), restarted each time, then let finish;
# then the database faults' long variant. RELATOR_CHAOS_SEED repeats a run. Ends with the
# summary line: kills, relations compared, model calls made.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL is not set (make chaos sets it from make db)}"
export RELATOR_CHAOS_KILLS=${RELATOR_CHAOS_KILLS:-20} RELATOR_CHAOS_EVENTS=${RELATOR_CHAOS_EVENTS:-2000}
export RELATOR_CHAOS_LONG=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! go test -count=1 -timeout 30m -run 'TestFaultCrash|TestFaultDatabase' -v ./cmd/relator/ >"$out" 2>&1; then
	grep -vE 'level=(INFO|WARN)' "$out" | tail -60
	echo "chaos: FAILED"
	exit 1
fi
grep -E '^ *(--- |chaos: )' "$out"
