#!/usr/bin/env bash
# Installs what landcarbon needs on a Debian machine, idempotently: quick when all is there.
# Run as root (or with sudo available). Sourced or executed by demo.sh and test.sh.
set -euo pipefail

# Debian packages: GDAL (rasters, GeoPackage), pkg-config (gdal-sys finds GDAL with it),
# GNU time (peak-memory measurements in scripts/), fonts for PNG charts and maps (Noto CJK so the
# report's Chinese title does not render as boxes).
PKGS=(libgdal-dev gdal-bin pkg-config time fonts-dejavu-core fonts-noto-cjk)
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

# Rust toolchain: the crates in Cargo.lock need rustc >= rust-version of Cargo.toml (Debian 12's
# rustc 1.63 is far too old). When cargo is missing or older, install the stable toolchain with
# rustup into $CARGO_HOME (default ~/.cargo): rustup itself from Debian's package where the release
# has one (Debian 13+), else from rustup's official installer script.
need_rust=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml")
[ -f "${CARGO_HOME:-$HOME/.cargo}/env" ] && . "${CARGO_HOME:-$HOME/.cargo}/env"
rust_ok() {
  command -v cargo >/dev/null 2>&1 && command -v rustc >/dev/null 2>&1 || return 1
  have=$(rustc --version | awk '{print $2}')
  [ "$(printf '%s\n%s\n' "$need_rust" "$have" | sort -V | head -n1)" = "$need_rust" ]
}
if ! rust_ok; then
  echo "setup: Rust >= $need_rust not found (have: $(rustc --version 2>/dev/null || echo none));" \
       "installing the stable toolchain with rustup into ${CARGO_HOME:-$HOME/.cargo}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! command -v rustup >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    if apt-cache policy rustup 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustup >/dev/null
    else
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl ca-certificates >/dev/null
      # rustup-init itself from rustup's release server (the binary sh.rustup.rs would fetch),
      # checked against its published SHA-256.
      triple="$(uname -m)-unknown-linux-gnu"
      url="https://static.rust-lang.org/rustup/dist/$triple/rustup-init"
      tmp=$(mktemp -d)
      curl --proto '=https' --tlsv1.2 -sSf "$url" -o "$tmp/rustup-init"
      want=$(curl --proto '=https' --tlsv1.2 -sSf "$url.sha256" | awk '{print $1}')
      have=$(sha256sum "$tmp/rustup-init" | awk '{print $1}')
      [ "$want" = "$have" ] || { echo "setup: rustup-init checksum mismatch ($have, expected $want)" >&2; exit 2; }
      chmod +x "$tmp/rustup-init"
      "$tmp/rustup-init" -y --profile minimal --no-modify-path
      rm -rf "$tmp"
      . "${CARGO_HOME:-$HOME/.cargo}/env"
    fi
  fi
  rustup toolchain install stable --profile minimal
  rustup default stable
  [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ] && . "${CARGO_HOME:-$HOME/.cargo}/env"
  rust_ok || { echo "setup: could not install Rust >= $need_rust (have: $(rustc --version 2>/dev/null || echo none))" >&2; exit 2; }
fi
