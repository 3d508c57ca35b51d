#!/usr/bin/env bash
# Seamlessness on real tiles: the DTM of a catalog run chunk by chunk (by tile, and by a grid of
# --chunk-size chunks that cut across the tiles) against the DTM of the same points merged into
# one file. Prints `landcarbon eval dtm` for each: how many cells differ, RMSE and max.
#
# Usage: scripts/dtm-seamless.sh [--chunk-size S] [--buffer B] [TILE.laz ...]
#   (default tiles: lasR_bcts_{1,2,4}.laz, three adjacent strips of one survey; S = 50, B = 30)
# Set LANDCARBON_BIN to use a prebuilt release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=50; BUF=30; TILES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --chunk-size) SIZE=$2; shift 2 ;;
    --buffer) BUF=$2; shift 2 ;;
    *) TILES+=("$1"); shift ;;
  esac
done
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
if [[ ${#TILES[@]} -eq 0 ]]; then
  for t in lasR_bcts_1 lasR_bcts_2 lasR_bcts_4; do TILES+=("$SHARED/$t.laz"); done
fi
. scripts/lib.sh
BIN=$(landcarbon_bin)
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
# One file with every point: a tile far larger than the data.
"$BIN" -q tile "${TILES[@]}" -o "$OUT/merged" --size 1000000
"$BIN" -q dtm "$OUT"/merged/*.laz -o "$OUT/merged.tif" --buffer "$BUF"
"$BIN" -q dtm "${TILES[@]}" -o "$OUT/by_tile.tif" --buffer "$BUF"
"$BIN" -q dtm "${TILES[@]}" -o "$OUT/by_grid.tif" --chunk-size "$SIZE" --buffer "$BUF"
for run in by_tile by_grid; do
  echo "== $run (buffer $BUF m$([[ $run == by_grid ]] && echo ", chunks $SIZE m")) vs merged"
  "$BIN" eval dtm "$OUT/$run.tif" "$OUT/merged.tif"
done
