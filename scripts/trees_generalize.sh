#!/usr/bin/env bash
# Tree detection across forest types with the current defaults, or with a config file:
# Chablais 3 (110 field trees), the synthetic oak savanna (seeds 11 and 12, written by
# `examples/savanna_scene.rs`) and lidR MixedConifer against the apexes of its own treeID
# segments (`examples/treeid_apexes.rs`; algorithmic, not field truth). `eval trees` defaults.
# Usage: scripts/trees_generalize.sh [config.toml]
# e.g. the old defaults: printf '[trees.saddle]\nmin_depth_frac = 0.0\n' > /tmp/old.toml
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin landcarbon --example savanna_scene --example treeid_apexes >&2
T=${CARGO_TARGET_DIR:-target}/release
B=$T/landcarbon
R=${LANDCARBON_SHARED:-../shared/testdata/real}
CF=()
if [ -n "${1:-}" ]; then CF=(--config "$1"); fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
line() { grep -E '^(all|h >= )' | head -2 | sed "s/^/$1: /"; }
"$B" "${CF[@]}" trees "$R/lidaRtRee_las_chablais3.laz" -o "$OUT/chab.gpkg" >/dev/null
"$B" eval trees --reference "$R/lidaRtRee_tree_inventory_chablais3.csv" \
  --detected "$OUT/chab.gpkg" | line chablais3
for s in 11 12; do
  "$T/examples/savanna_scene" "$OUT" "$s" >/dev/null
  "$B" "${CF[@]}" trees "$OUT/savanna_$s.laz" -o "$OUT/sav$s.gpkg" >/dev/null
  "$B" eval trees --reference "$OUT/savanna_${s}_trees.csv" --detected "$OUT/sav$s.gpkg" \
    | line "savanna_$s" | head -1
done
"$T/examples/treeid_apexes" "$R/lidR_MixedConifer.laz" "$OUT/mc_ref.csv" >/dev/null
"$B" "${CF[@]}" trees "$R/lidR_MixedConifer.laz" --heights z -o "$OUT/mc.gpkg" >/dev/null
"$B" eval trees --reference "$OUT/mc_ref.csv" --detected "$OUT/mc.gpkg" | line mixedconifer | head -1
