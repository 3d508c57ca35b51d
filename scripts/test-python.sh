#!/usr/bin/env bash
# Builds the Python wheel (python/, maturin, abi3) in the workspace's target/ (same release
# profile as `cargo build --release`, so only pyo3 and the extension module itself compile on
# top of the root crate's build), installs it into a fresh virtual environment with numpy,
# pandas, matplotlib and pytest (and pyarrow and tqdm when the package index has them), and
# runs python/tests/. Real-data tests skip loudly when ../shared/testdata/real is absent, the
# pyarrow and tqdm tests when those are not installed.
#   bash scripts/test-python.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
[[ "$TARGET" = /* ]] || TARGET="$ROOT/$TARGET"
PY=${PYTHON:-python3}

# A Python with venv (Debian splits it off).
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "test-python: installing python3 and python3-venv" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null
  PY=python3
fi

# maturin in a venv of its own under target/ (kept between runs).
TOOLS="$TARGET/py-tools"
if [ ! -x "$TOOLS/bin/maturin" ]; then
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q "maturin>=1.5,<2"
fi

t0=$(date +%s)
WHEELS="$TARGET/wheels"
rm -rf "$WHEELS"
# --compatibility linux: the module links the system GDAL, so the wheel is for this machine's
# kind (a manylinux wheel would have to bundle GDAL).
PYO3_PYTHON="$PY" "$TOOLS/bin/maturin" build --release --quiet \
  --manifest-path python/Cargo.toml --interpreter "$PY" --compatibility linux --out "$WHEELS"
t1=$(date +%s)
WHEEL=$(ls "$WHEELS"/landcarbon-*.whl)
echo "test-python: built $(basename "$WHEEL") in $((t1 - t0)) s" >&2

# A fresh environment every run: the wheel must install and work on its own.
VENV="$TARGET/py-test-venv"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "$WHEEL" numpy pandas matplotlib pytest
# Optional: the arrow table format and the tqdm progress bar (their tests skip loudly without).
"$VENV/bin/pip" install -q pyarrow tqdm ||
  echo "test-python: pyarrow/tqdm not installed: their tests will be skipped" >&2
t2=$(date +%s)
echo "test-python: fresh venv with the wheel in $((t2 - t1)) s" >&2

export LANDCARBON_CLI="$TARGET/release/landcarbon"
cargo build --release --bin landcarbon --quiet
# Run from python/tests so that `import landcarbon` finds the installed wheel, not the source.
cd python/tests
"$VENV/bin/python" -m pytest -q -rs "$@"
t3=$(date +%s)
echo "test-python: wheel $((t1 - t0)) s, venv $((t2 - t1)) s, pytest $((t3 - t2)) s" >&2
