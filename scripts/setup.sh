#!/usr/bin/env bash
# Installs what landcarbon needs on a Debian machine, idempotently: quick when all is there.
# Run as root (or with sudo available). Sourced or executed by demo.sh and test.sh.
set -euo pipefail

# Debian packages: GDAL (rasters, GeoPackage), pkg-config (gdal-sys finds GDAL with it),
# GNU time (peak-memory measurements in scripts/), fonts for PNG charts and maps.
PKGS=(libgdal-dev gdal-bin pkg-config time fonts-dejavu-core)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo (Rust toolchain) not found; install Rust from your distribution or rustup" >&2; exit 2; }
