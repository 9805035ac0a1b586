#!/usr/bin/env bash
# Install every Debian package the wastebank project needs, if any is missing.
# Quiet and fast (exit 0, no output) when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libevent-dev libhiredis-dev libmariadb-dev libjwt-dev libjansson-dev
  libqrencode-dev libpng-dev libsodium-dev libcmocka-dev libcairo2-dev libroaring-dev
  redis-server redis-tools mariadb-server mariadb-client
  wrk zbar-tools python3 tzdata ca-certificates fonts-wqy-microhei curl poppler-utils
  chromium
)

# The web apps build with Node.js and npm (make web).  Debian's own
# packages will do; a machine that has them from elsewhere keeps them.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing: ${missing[*]}" >&2
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
