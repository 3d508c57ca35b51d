#!/usr/bin/env bash
# Tree detection on the Chablais 3 plot (lidaRtRee) against its 110-tree field inventory:
# both crown segmentations, greedy and optimal (Hungarian) one-to-one matching.
# Usage: scripts/trees_chablais_eval.sh [path/to/landcarbon]   (default: release build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-}
if [ -z "$B" ]; then
  cargo build --release --bin landcarbon >&2
  B=${CARGO_TARGET_DIR:-target}/release/landcarbon
fi
R=${LANDCARBON_SHARED:-../shared/testdata/real}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for seg in dalponte watershed; do
  "$B" trees "$R/lidaRtRee_las_chablais3.laz" --segment "$seg" -o "$OUT/chablais_$seg.gpkg"
  for a in greedy optimal; do
    echo "== segment $seg, assignment $a"
    "$B" eval trees --reference "$R/lidaRtRee_tree_inventory_chablais3.csv" \
      --detected "$OUT/chablais_$seg.gpkg" --assignment "$a"
  done
done
