#!/usr/bin/env bash
# The main job on bundled data, with zero configuration: installs what is missing, builds in
# release, then
#   1. describes the bundled real tiles (testdata/);
#   2. writes a small synthetic county (two years of land-survey patches, two LiDAR surveys,
#      field plots, parameters: `landcarbon synth-demo`);
#   3. runs the whole chain on it (`landcarbon run`): ground, DTM, heights, vegetation, CHM,
#      trees, grid and plot metrics, calibration, carbon density per pool for both years,
#      patch overlay, stocks, sink, uncertainty, tables F-1/F-2/F-3, GeoPackage and report;
# and says where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh may have just installed Rust with rustup: put its cargo on PATH here too.
if [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then . "${CARGO_HOME:-$HOME/.cargo}/env"; fi
cargo build --release -q
BIN=$PWD/target/release/landcarbon
OUT=${OUT:-out/demo}
mkdir -p "$OUT"
echo "== 1. the bundled real tiles"
$BIN info -q testdata/*.la[sz] testdata/isprs/samp11-utm.laz | tee "$OUT/info.txt" | grep -E "^testdata|LAS 1|CRS"
echo "== 2. demo data: synthetic county, LiDAR 2020 and 2025, field plots"
$BIN synth-demo -q -o "$OUT/data"
echo "== 3. the whole chain: landcarbon run $OUT/data/pipeline.toml"
$BIN run "$OUT/data/pipeline.toml" -o "$OUT/results"
R="$OUT/results"
cat <<MSG

Outputs in $R/:
  2020/, 2025/           per survey: dtm.tif chm.tif metrics.tif (grid metrics, band per metric),
                         trees.csv, plot_metrics.csv, model/ (model.json, summary, PNG figures),
                         carbon/ (agb_t_ha agc bgc lt total se flag .tif, parameters.json)
  account/F1_units.csv   Table F-1 per accounting unit (pool values with their method; NE empty);
                         F2_county.csv, F3_transitions.csv, uncertainty.csv, checks.csv (plausibility)
  account/units.gpkg     unit polygons with every F-1 field (open in QGIS)
  account/report.html    the report: totals with uncertainty, maps, transition matrix, parameters
  run.json               inputs with hashes, configuration, timings, peak memory
MSG
