#!/usr/bin/env bash
# Installs what is needed, then runs the whole system (web, worker, beat, media node) on
# the embedded default (SQLite, filesystem broker) with the demo province, under supervisor
# (deploy/supervisord.conf): a process that dies is started again. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=web
.venv/bin/flask giaoban migrate
.venv/bin/flask giaoban demo
PORT=${PORT:-5000}
export GIAOBAN_BASE_URL=${GIAOBAN_BASE_URL:-http://127.0.0.1:$PORT}
export GIAOBAN_WEB_URL=${GIAOBAN_WEB_URL:-$GIAOBAN_BASE_URL}
export PORT GIAOBAN_BIND=${GIAOBAN_BIND:-127.0.0.1}
export GIAOBAN_INSTANCE=${GIAOBAN_INSTANCE:-$PWD/instance}
mkdir -p "$GIAOBAN_INSTANCE"
echo
echo "giaoban: open $GIAOBAN_BASE_URL  (login: admin / chutri / thuky / daibieu.stc / kythuat.01, password giaoban2026)"
echo
exec .venv/bin/supervisord -c deploy/supervisord.conf
