#!/usr/bin/env bash
# Upgrade an installed giaoban (scripts/install-server.sh) to the code in this folder,
# without cutting a meeting (docs/operations.md, "Upgrade"):
#   1. a backup (database, documents, recordings, secrets) in /var/backups/giaoban
#   2. the new code and its Python/npm packages; translations compiled
#   3. database migrations (Alembic; additive, so the running version keeps working)
#   4. web, worker and beat restarted at once: browsers reconnect by themselves and find the
#      meeting as it was (all live state is in the database)
#   5. media nodes restarted only when no meeting is live (a restart would cut the media),
#      waiting up to --wait-minutes (default 240); --now restarts them anyway
#   6. the check
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
APP=${GIAOBAN_APP_DIR:-/opt/giaoban}
WAIT=240
NOW=0
while (($#)); do
  case $1 in
    --wait-minutes) WAIT=$2; shift 2 ;;
    --now) NOW=1; shift ;;
    *) echo "usage: $0 [--wait-minutes N] [--now]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "upgrade-server: run as root" >&2; exit 1; }
ENV_FILE=/etc/giaoban/giaoban.env
as_app() {  # a command as the service account, with the installation's settings
  runuser -u giaoban -- bash -c 'set -a; . "$1"; set +a; cd "$0"; shift; exec "$@"' "$APP" "$ENV_FILE" "$@"
}

mkdir -p -m 700 /var/backups/giaoban
echo "upgrade-server: 1. backup (as root: it includes the CA key)"
(set -a; . "$ENV_FILE"; set +a; cd "$APP" && .venv/bin/python -m deploy backup /var/backups/giaoban)

echo "upgrade-server: 2. code and packages"
if [[ "$SRC" != "$APP" ]]; then
  rsync -a --delete --exclude .venv --exclude node_modules --exclude instance --exclude .git \
        --exclude test-artifacts "$SRC"/ "$APP"/
fi
(cd "$APP" && .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt \
  && npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && .venv/bin/pybabel compile -d web/translations -f >/dev/null)

echo "upgrade-server: 3. migrations"
as_app "$APP/.venv/bin/flask" --app web giaoban migrate

echo "upgrade-server: 4. web, worker, beat"
systemctl daemon-reload
systemctl restart giaoban-web.service giaoban-worker.service giaoban-beat.service

echo "upgrade-server: 5. media nodes (between meetings)"
if ((NOW == 0)); then
  as_app "$APP/.venv/bin/python" -m deploy wait-idle --minutes "$WAIT"
fi
if [[ -f /etc/systemd/system/giaoban-media.service ]]; then
  systemctl restart giaoban-media.service
else  # units of an earlier install (a unit per core): install-server.sh again moves to media.workers
  systemctl restart 'giaoban-media@*.service'
fi

echo "upgrade-server: 6. check"
as_app "$APP/.venv/bin/python" -m deploy check
