#!/usr/bin/env bash
# The production install of giaoban on a Debian 12 server (as root), in the manner of
# Jitsi's installer: Debian packages, a service account, PostgreSQL and Redis, the code in
# /opt/giaoban with its venv, systemd units for web, worker, beat and media nodes, nginx
# terminating TLS (and passing TURN over TLS on 443), coturn, and a check at the end.
#
#   scripts/install-server.sh --name hop.tinh.gov.vn --address 10.1.2.3 \
#       [--cert province.crt --key province.key] [--client-network 10.0.0.0/8 ...] [--media-workers N]
#
# Without --cert/--key it makes an internal CA and tells how to trust it on client machines.
# Run it again to upgrade the configuration: secrets, the CA and local settings are kept.
# Upgrading the code: scripts/upgrade-server.sh (docs/operations.md).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
APP=${GIAOBAN_APP_DIR:-/opt/giaoban}
USER_NAME=giaoban
PACKAGES=(python3 python3-venv python3-dev build-essential nodejs npm nginx-light libnginx-mod-stream
          coturn postgresql redis-server openssl ca-certificates rsync
          libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
          poppler-utils fonts-liberation2 fonts-dejavu-core)

die() { echo "install-server: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (sudo scripts/install-server.sh ...)"
[[ " $* " == *" --name "* && " $* " == *" --address "* ]] || \
  die "usage: $0 --name SERVER-NAME --address INTRANET-IP [--cert FILE --key FILE] [--client-network CIDR]"

echo "install-server: Debian packages"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
# our own units run nginx and coturn with giaoban's configuration
systemctl disable --now nginx.service coturn.service 2>/dev/null || true

echo "install-server: service account and code in $APP"
id "$USER_NAME" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/giaoban --shell /usr/sbin/nologin "$USER_NAME"
mkdir -p "$APP"
if [[ "$SRC" != "$APP" ]]; then
  rsync -a --delete --exclude .venv --exclude node_modules --exclude instance --exclude .git \
        --exclude test-artifacts "$SRC"/ "$APP"/
fi
cd "$APP"
[[ -x "$APP/.venv/bin/python" ]] || python3 -m venv "$APP/.venv"
"$APP/.venv/bin/pip" install -q --disable-pip-version-check -r "$APP/requirements.txt"
npm ci --omit=dev --no-audit --no-fund --loglevel=error
"$APP/.venv/bin/pybabel" compile -d "$APP/web/translations" -f >/dev/null

echo "install-server: PostgreSQL database and role '$USER_NAME'"
runuser -u postgres -- psql -Atqc "select 1 from pg_roles where rolname='$USER_NAME'" | grep -q 1 || \
  runuser -u postgres -- createuser "$USER_NAME"
runuser -u postgres -- psql -Atqc "select 1 from pg_database where datname='giaoban'" | grep -q 1 || \
  runuser -u postgres -- createdb -O "$USER_NAME" giaoban

echo "install-server: configuration, certificates, units"
"$APP/.venv/bin/python" -m deploy install --app-dir "$APP" --user "$USER_NAME" "$@"
chown -R "$USER_NAME:$USER_NAME" /var/lib/giaoban /var/log/giaoban
chown -R "root:$USER_NAME" /etc/giaoban
chmod 750 /etc/giaoban /etc/giaoban/tls
chmod 640 /etc/giaoban/giaoban.env /etc/giaoban/turnserver.conf /etc/giaoban/turn_secret /etc/giaoban/tls/server.key
[[ -f /etc/giaoban/tls/ca.key ]] && chmod 600 /etc/giaoban/tls/ca.key && chown root:root /etc/giaoban/tls/ca.key

# a command as the service account, with the installation's settings, from the code folder
as_app() {
  runuser -u "$USER_NAME" -- bash -c 'set -a; . /etc/giaoban/giaoban.env; set +a; cd "$0"; exec "$@"' "$APP" "$@"
}
echo "install-server: database migrations"
as_app "$APP/.venv/bin/flask" --app web giaoban migrate

# earlier versions ran one giaoban-media@<port> unit per core; giaoban-media.service's
# media.workers does that now (the installer removed the template)
systemctl stop 'giaoban-media@*.service' 2>/dev/null || true
systemctl daemon-reload
systemctl enable --now giaoban.target
sleep 3
echo
as_app "$APP/.venv/bin/python" -m deploy check || true
echo
echo "install-server: done. Health: $APP/.venv/bin/python -m deploy check --env-file /etc/giaoban/giaoban.env"
