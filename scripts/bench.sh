#!/usr/bin/env bash
# scripts/bench.sh — what `make bench` runs: relator's standard measurements, each printed as the
# one summary line its command ends with (figure beside target), then the Go benchmarks of the hot
# paths. BENCHMARKS.md records the latest figures; every line here names the command that made it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/relator}
: "${DATABASE_URL:?DATABASE_URL is not set (make bench sets it from make db)}"
run() {
	printf '\n$ relator %s\n' "$*"
	"$BIN" "$@" 2>/dev/null | grep '^bench:'
}
echo "relator bench on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
run bench --events 5000 --concurrency 16 --latency 200ms
run bench --events 5000 --concurrency 64 --latency 200ms
run bench --offline --events 20000
run bench --knn --vectors 20000 --dims 1024
printf '\n$ go test -run ^$ -bench . -benchtime 200x ./embeddings ./analyzer ./prompts\n'
go test -run '^$' -bench . -benchtime 200x ./embeddings ./analyzer ./prompts 2>/dev/null | grep -E '^Benchmark'
