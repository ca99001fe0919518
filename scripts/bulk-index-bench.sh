#!/usr/bin/env bash
# scripts/bulk-index-bench.sh — what building the HNSW index after a bulk load saves: a backfill
# that embeds N replicated sample events (dates shifted a month per copy, ids suffixed) and
# analyses one, with the index built before the load (--bulk-index-at 0) and after it (default).
# Usage: DATABASE_URL=… scripts/bulk-index-bench.sh [COPIES]   (47 copies = 20,116 events)
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-47}
: "${DATABASE_URL:?DATABASE_URL is not set (make db prints one)}"
go build -o bin/relator ./cmd/relator
data=$(mktemp --suffix=.jsonl)
trap 'rm -f "$data"' EXIT
python3 - "$copies" testdata/wikitimes-2015-09/events.jsonl >"$data" <<'PY'
import datetime, json, sys
copies, src = int(sys.argv[1]), [json.loads(l) for l in open(sys.argv[2])]
for rep in range(copies):
    for e in src:
        d = datetime.date.fromisoformat(e["occurred_at"][:10]) + datetime.timedelta(days=31 * rep)
        print(json.dumps(dict(e, id=f"{e['id']}-r{rep}", occurred_at=d.isoformat() + e["occurred_at"][10:])))
PY
base=${DATABASE_URL%%\?*}
query=${DATABASE_URL#"$base"}
url="${base%/*}/relator_bulk_bench$query"
for at in 0 10000; do
	psql -q -X -v ON_ERROR_STOP=1 "$DATABASE_URL" -c 'DROP DATABASE IF EXISTS relator_bulk_bench WITH (FORCE)' \
		-c 'CREATE DATABASE relator_bulk_bench' >/dev/null
	DATABASE_URL=$url bin/relator import "$data" >/dev/null
	printf -- '--bulk-index-at %s: ' "$at"
	DATABASE_URL=$url bin/relator backfill --from 1900-01-01 --to 2999-12-31 --limit 1 --bulk-index-at "$at" 2>/dev/null | tail -1
done
psql -q -X "$DATABASE_URL" -c 'DROP DATABASE IF EXISTS relator_bulk_bench WITH (FORCE)' >/dev/null
