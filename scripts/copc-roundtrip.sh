#!/usr/bin/env bash
# COPC round trip checked by an independent reader (laspy + lazrs, in a venv):
#   1. `landcarbon ground TILE -o out.copc.laz` writes COPC;
#   2. laspy's CopcReader reads it back whole (same points as the tile) and by box (30 m strips
#      and a square, each equal to a brute-force filter of laspy's plain read);
#   3. `landcarbon ground out.copc.laz -o plain.laz` (a non-COPC output of a COPC input) is read
#      by laspy: every point, no COPC record;
#   4. landcarbon's own spatial read of the COPC file (nodes meeting the box) vs a full decode.
#   bash scripts/copc-roundtrip.sh [TILE]   (default: the shared lasR_bcts_2.laz, else the
#                                            bundled IGN tile)
# Skips (exit 0, SKIP line) when pip cannot install laspy[lazrs].
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
TILE=${1:-}
if [ -z "$TILE" ]; then
  TILE="$SHARED/lasR_bcts_2.laz"
  [ -f "$TILE" ] || { TILE=testdata/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz; echo "NOTE: shared set absent, using the bundled $TILE" >&2; }
fi
VENV=${COPC_VENV:-$TARGET/copc-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import laspy, lazrs' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'laspy[lazrs]>=2.4' numpy \
    || { echo "SKIP copc-roundtrip: cannot install laspy[lazrs] with pip"; exit 0; }
fi
cargo build --release -q --bin landcarbon --example copc_query
BIN="$TARGET/release/landcarbon"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "tile: $TILE"
"$BIN" -q ground "$TILE" -o "$WORK/out.copc.laz"
"$BIN" -q ground "$WORK/out.copc.laz" -o "$WORK/plain.laz"
"$VENV/bin/python" scripts/copc_check.py "$TILE" "$WORK/out.copc.laz" "$WORK/plain.laz"
"$TARGET/release/examples/copc_query" "$WORK/out.copc.laz"
