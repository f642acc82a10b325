#!/usr/bin/env bash
# Installs everything giaoban needs on a fresh Debian 12 machine of this kind (run as root
# for the Debian packages): system packages, a Python venv with pinned requirements, the
# front-end libraries from npm, compiled translations. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
              poppler-utils fonts-liberation2 fonts-dejavu-core
              nginx-light libnginx-mod-stream coturn nftables iproute2 openssl libnss3-tools)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

npm ci --no-audit --no-fund --loglevel=error

.venv/bin/pybabel compile -d web/translations -f >/dev/null
echo "setup: done"
