#!/usr/bin/env bash
# Installs what is needed, then runs the whole system (web, worker, beat, media node) on
# the embedded default (SQLite, filesystem broker) with the demo province. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=web
.venv/bin/flask giaoban migrate
.venv/bin/flask giaoban demo
PORT=${PORT:-5000}
export GIAOBAN_BASE_URL=${GIAOBAN_BASE_URL:-http://127.0.0.1:$PORT}
export GIAOBAN_WEB_URL=${GIAOBAN_WEB_URL:-$GIAOBAN_BASE_URL}
echo
echo "giaoban: open $GIAOBAN_BASE_URL  (login: admin / chutri / thuky / daibieu.stc / kythuat.01, password giaoban2026)"
echo
exec .venv/bin/honcho start -f Procfile -p "$PORT"
