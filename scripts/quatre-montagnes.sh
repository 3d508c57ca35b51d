#!/usr/bin/env bash
# Real-data check of the calibration machinery: basal area G (m²/ha) of the 96 Quatre
# Montagnes plots (lidaRtRee, Monnet) from their precomputed ALS metrics, log–log best subset
# (lidaRtRee's practice: adj R² ranking, VIF < 5, p < 0.05; no gvlma tests), LOOCV with the
# back-transformation inside each fold. Prints the fitted and LOOCV statistics of each setting.
#
# usage: scripts/quatre-montagnes.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(private_landcarbon_bin "$TMP")
QM=${LANDCARBON_SHARED:-../shared/testdata/real}/lidaRtRee_quatre_montagnes_plots.csv
[[ -f $QM ]] || { echo "SKIP: $QM not found"; exit 0; }
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
run() { # name args...
  local name=$1; shift
  echo "== $name: $*"
  "$BIN" -q calibrate --plots "$QM" --response G_m2_ha -o "$OUT/$name.json" "$@"
  grep -E '^predictors|^ +R2|^fitted|^LOOCV' "$OUT/$name.txt"
}
# lidaRtRee's example uses columns 9:76 (ALS point metrics, tree-segmentation and terrain).
run all_metrics_k3 --predictors zmax..slope_gr
run all_metrics_k2 --predictors zmax..slope_gr --max-predictors 2
# ALS point-cloud metrics only (columns 9:60).
run als_only_k3 --predictors zmax..p_hmin
run als_only_bic --predictors zmax..p_hmin --criterion bic
run als_only_power --predictors zmax..p_hmin --model power
run als_only_strata --predictors zmax..p_hmin --strata stratum --max-predictors 2
echo "outputs (model JSON, summary, PNG) in $OUT"
