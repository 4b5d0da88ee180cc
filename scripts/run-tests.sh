#!/usr/bin/env bash
# The whole suite on a throwaway PostgreSQL (started here on 127.0.0.1, stopped on exit),
# then the smoke subset on SQLite, then lint. Any failure — or no test at all — fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"

# shellcheck source=scripts/pg.sh
source scripts/pg.sh
pg_start
trap pg_stop EXIT

echo "== pytest on PostgreSQL ($DATABASE_URL)"
"$PY" -m pytest -p no:cacheprovider -n 2 --dist loadgroup "$@"

echo "== pytest smoke subset on SQLite"
DATABASE_URL="sqlite:///$(mktemp -d)/smoke.sqlite3" "$PY" -m pytest -p no:cacheprovider -m smoke -q "$@"

echo "== lint (ruff, mypy) and translations"
"$VENV/bin/ruff" check baton bench
"$VENV/bin/mypy" baton
"$VENV/bin/baton" i18n check
