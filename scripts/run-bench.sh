#!/usr/bin/env bash
# `make bench`: the scale benchmark on SQLite, then on a throwaway PostgreSQL (started here on
# 127.0.0.1, stopped on exit); each pass builds a fresh 100,000-person demo database in a
# process of its own. Results go to bench/results/latest.json and a timestamped copy; the
# table is printed at the end. See bench/README.md.
#
# Environment: BENCH_EMPLOYEES (100000), BENCH_REQUESTS (50), BENCH_WARMUP (5),
# BENCH_AUDIT_ENTRIES (1000000), BENCH_SCENARIOS (list,search,deep), BENCH_DBS ("sqlite
# postgres"), BENCH_STRICT=1 to exit 1 when a target is missed, BENCH_RESULTS (bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
DBS=${BENCH_DBS:-sqlite postgres}
RESULTS=${BENCH_RESULTS:-bench/results}

BENCH_TMP=$(mktemp -d /tmp/baton-bench.XXXXXX)
# Nothing of the developer's var/ is read or written.
export BATON_DATA_DIR="$BENCH_TMP/data"
export DJANGO_SETTINGS_MODULE=baton.settings
unset BATON_DEBUG

# shellcheck source=scripts/pg.sh
source scripts/pg.sh
cleanup() {
  pg_stop
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

args=(
  --employees "${BENCH_EMPLOYEES:-100000}"
  --requests "${BENCH_REQUESTS:-50}"
  --warmup "${BENCH_WARMUP:-5}"
  --audit-entries "${BENCH_AUDIT_ENTRIES:-1000000}"
  --variants "${BENCH_SCENARIOS:-list,search,deep}"
)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
passes=()
for db in $DBS; do
  case $db in
    sqlite)
      mkdir -p "$BENCH_TMP/sqlite"
      echo "== SQLite pass ($BENCH_TMP/sqlite/bench.sqlite3)"
      DATABASE_URL="sqlite:///$BENCH_TMP/sqlite/bench.sqlite3" \
        "$PY" -m bench.run --db sqlite --out "$BENCH_TMP/sqlite.json" "${args[@]}"
      # The database files are big (~1.5 GB); free the disk before the next pass.
      rm -rf "$BENCH_TMP/sqlite"
      ;;
    postgres)
      pg_start
      echo "== PostgreSQL pass ($DATABASE_URL)"
      "$PY" -m bench.run --db postgres --out "$BENCH_TMP/postgres.json" "${args[@]}"
      pg_stop
      unset DATABASE_URL
      ;;
    *)
      echo "unknown database in BENCH_DBS: $db" >&2
      exit 2
      ;;
  esac
  passes+=("$BENCH_TMP/$db.json")
done

strict=()
[ "${BENCH_STRICT:-}" = 1 ] && strict=(--strict)
"$PY" -m bench.report "${passes[@]}" --results "$RESULTS" --started "$started" "${strict[@]}"
