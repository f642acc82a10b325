#!/usr/bin/env bash
# Installs what is needed, then runs the whole test suite (and ruff and the import contracts) against PostgreSQL and
# Redis on 127.0.0.1. Override with DATABASE_URL / REDIS_URL; an unreachable one fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # the import contracts in .importlinter
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
