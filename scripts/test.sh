#!/usr/bin/env bash
# Install kaohe with its dev extras into .venv (from nothing), then lint, type-check and run
# the whole test suite twice: on SQLite, and again on PostgreSQL (a local server; in CI it is
# started if it is not running). This is the README's test command and exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for screenshots;
# the PDF tests render with poppler (pdftoppm, pdftotext, pdffonts)
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-wqy-zenhei)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian's ${need[*]} for the browser and PDF tests"
  apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "== ruff"
.venv/bin/ruff check src tests benchmarks
echo "== mypy (strict, src/)"
.venv/bin/mypy
# the tests run on every core, a file per worker (pytest-xdist); KAOHE_TEST_WORKERS=0 runs them in
# one process
WORKERS=(-n "${KAOHE_TEST_WORKERS:-auto}" --dist loadfile)
# the whole-month browser journeys (tests/web/test_browser.py) run on their own, after the
# parallel run: with another worker busy beside them one step of the month has been seen to lag
SERIAL=(tests/web/test_browser.py)
run_tests() {  # the given tests, or the parallel part then the serial part
  if [ $# -gt 0 ]; then
    .venv/bin/python -m pytest -q "${WORKERS[@]}" "$@"
  else
    .venv/bin/python -m pytest -q "${WORKERS[@]}" --ignore="${SERIAL[0]}" "${DEFAULT[@]}"
    .venv/bin/python -m pytest -q "${SERIAL[@]}"
  fi
}
DEFAULT=(tests)
echo "== pytest on SQLite"
run_tests "$@"

PG_HOST=${KAOHE_PG_HOST:-127.0.0.1}
PG_USER=${KAOHE_PG_USER:-postgres}
pg_up() { pg_isready -q -h "$PG_HOST" -p 5432 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  psql -h "$PG_HOST" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'kaohe_test'" | grep -q 1 \
    || psql -h "$PG_HOST" -U "$PG_USER" -d postgres -qc "CREATE DATABASE kaohe_test"
  # again on PostgreSQL: every test that uses a database (the store, the workflow, the web app
  # with its browser journeys, reminders, exports); the engine-only tests do not touch one and
  # ran above. Each worker gets its own database (kaohe_test_gw0, …).
  DEFAULT=(tests/store tests/web tests/reminders tests/test_exports_cannot_run.py)
  echo "== pytest on PostgreSQL"
  export KAOHE_TEST_DATABASE_URL="postgresql+psycopg://$PG_USER@$PG_HOST:5432/kaohe_test"
  run_tests "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on $PG_HOST:5432; CI needs it" >&2
  exit 1
else
  echo "== PostgreSQL not reachable on $PG_HOST:5432: the PostgreSQL run is skipped"
fi
