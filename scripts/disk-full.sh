#!/usr/bin/env bash
# Disk-full test (issue #15 point 3): each command writes into a tmpfs too small for its
# output and must exit non-zero and leave no file under its final name (only nothing, or a
# `.partial-*` that the next run cleans). Needs root to mount a tmpfs; skips loudly otherwise.
# Usage: bash scripts/disk-full.sh [path/to/landcarbon]   (default target/release/landcarbon)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/landcarbon}")
[ -x "$BIN" ] || { echo "no binary $BIN (cargo build --release)" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP disk-full test: not root (a tmpfs cannot be mounted)" >&2; exit 0
fi
WORK=$(mktemp -d /tmp/disk-full.XXXXXX)
MNT="$WORK/full"
mkdir -p "$MNT"
cleanup() { umount "$MNT" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
TILE=$PWD/testdata/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz
# The demo data set (small; built outside the tmpfs) for the whole-chain case.
"$BIN" synth-demo -q -o "$WORK/demo" >/dev/null || { echo "synth-demo failed" >&2; exit 2; }
fail=0
check() { # name size final-path command...
  local name=$1 size=$2 final=$3
  shift 3
  umount "$MNT" 2>/dev/null
  if ! mount -t tmpfs -o "size=$size" tmpfs "$MNT" 2>"$WORK/mount.err"; then
    echo "SKIP disk-full test: mount -t tmpfs failed: $(cat "$WORK/mount.err")" >&2; exit 0
  fi
  "$@" >"$WORK/out" 2>&1
  local rc=$?
  local verdict=ok
  if [ "$rc" -eq 0 ]; then verdict="FAIL: exit 0 on a full disk"; fi
  if [ -e "$final" ]; then verdict="FAIL: $final exists under its final name"; fi
  if grep -q panicked "$WORK/out"; then verdict="FAIL: panic"; fi
  [ "$verdict" = ok ] || fail=1
  printf '%-10s %-6s rc=%-3s %s | %s\n' "$name" "$size" "$rc" "$verdict" \
    "$(grep -m1 -iE 'error|no space' "$WORK/out" | cut -c1-140)"
}
check dtm 8k "$MNT/dtm.tif" "$BIN" -q dtm "$TILE" -o "$MNT/dtm.tif"
check chm 16k "$MNT/chm.tif" "$BIN" -q chm "$TILE" -o "$MNT/chm.tif"
check ground 64k "$MNT/g.laz" "$BIN" -q ground "$TILE" -o "$MNT/g.laz"
# (68 bands of 3 x 3 cells: 15 KB since COG tiles fit the raster, 94 KB before)
check metrics 8k "$MNT/m.tif" "$BIN" -q metrics --grid 20 "$TILE" -o "$MNT/m.tif"
check run 1m "$MNT/res/account/F1_units.csv" "$BIN" -q run "$WORK/demo/pipeline.toml" -o "$MNT/res"
check run-mid 12m "$MNT/res/account/F1_units.csv" "$BIN" -q run "$WORK/demo/pipeline.toml" -o "$MNT/res"
if [ "$fail" -ne 0 ]; then echo "disk-full test FAILED" >&2; exit 1; fi
echo "disk-full test: every command failed cleanly on a full disk"
