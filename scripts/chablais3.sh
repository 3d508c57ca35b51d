#!/usr/bin/env bash
# Chablais 3 (lidaRtRee; French Alps, 50 m × 50 m inventory plot, 110 trees ≥ 7.5 cm DBH):
# field AGB from the tree list through the allometry of the parameter file against
# LiDAR-predicted AGB, on 3 × 3 square subplots (≈ 17 × 18 m, 312 m²) covering the plot.
#
# Steps: normalize the tile with `landcarbon normalize` (provider ground class 2, TIN — the
# terrain engineer's command; this script needs a build that has it), write the subplots as a
# GeoPackage polygon layer (ogr2ogr), plot metrics on the polygons, field AGB per subplot with
# `calibrate --trees` (conifers PIAB/ABAL/TABA → group conifer, other species → broadleaf;
# standing dead trees, appearance 3, left out of live AGB), and a one-predictor log–log model
# with LOOCV (few plots: the single-predictor structural fallback of carbon-accounting.md §2).
# This is a within-site demonstration on 9 small subplots, not a transferable model.
#
# usage: scripts/chablais3.sh [OUTDIR]   (needs python3 with pandas, and ogr2ogr)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(private_landcarbon_bin "$TMP")
REAL=$(realpath "${LANDCARBON_SHARED:-../shared/testdata/real}")
LAS=$REAL/lidaRtRee_las_chablais3.laz
TREES=$REAL/lidaRtRee_tree_inventory_chablais3.csv
[[ -f $LAS && -f $TREES ]] || { echo "SKIP: Chablais 3 files not found in $REAL"; exit 0; }
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT" && cd "$OUT"
if ! "$BIN" normalize --help >/dev/null 2>&1; then
  echo "SKIP: this build has no 'landcarbon normalize' (terrain branch not merged): no DTM, no heights"
  exit 0
fi
"$BIN" -q normalize "$LAS" -o chablais3_norm.laz
python3 - "$TREES" <<'PY'
import sys, pandas as pd, numpy as np
t = pd.read_csv(sys.argv[1])
x0, x1, y0, y1 = 974341.0, 974393.0, 6581634.0, 6581688.0   # tree bbox, rounded outward
dx, dy = (x1 - x0) / 3, (y1 - y0) / 3
rows, trees = [], []
for j in range(3):
    for i in range(3):
        a, b, c, d = x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy
        pid = f"S{j}{i}"
        rows.append((pid, f"POLYGON(({a} {b},{c} {b},{c} {d},{a} {d},{a} {b}))"))
        sel = (t.x_epsg2154 >= a) & (t.x_epsg2154 < c) & (t.y_epsg2154 >= b) & (t.y_epsg2154 < d)
        sel &= t.appearance != 3   # standing dead: dead wood, not live AGB
        for _, r in t[sel].iterrows():
            g = "conifer" if r.species_gesp in ("PIAB", "ABAL", "TABA") else "broadleaf"
            trees.append((pid, r.dbh_cm, r.height_m, g))
pd.DataFrame(rows, columns=["plot_id", "wkt"]).to_csv("subplots.csv", index=False)
pd.DataFrame(trees, columns=["plot_id", "dbh_cm", "height_m", "group"]).to_csv("trees.csv", index=False)
print(f"{len(trees)} live trees in 9 subplots")
PY
rm -f subplots.gpkg
ogr2ogr -f GPKG subplots.gpkg subplots.csv -oo GEOM_POSSIBLE_NAMES=wkt -oo KEEP_GEOM_COLUMNS=NO -a_srs EPSG:2154 -nln subplots
"$BIN" -q metrics chablais3_norm.laz --height z --plots subplots.gpkg -o subplot_metrics.csv
for p in zq95 mch zmean cover; do
  echo "== agb_t_ha ~ $p (log-log, LOOCV)"
  "$BIN" -q calibrate --plots subplot_metrics.csv --trees trees.csv --response agb_t_ha \
    --predictors $p --fixed --no-figures -o model_$p.json
  grep -E '^ +R2|^fitted|^LOOCV|^note' model_$p.txt
done
python3 - <<'PY'
import json
m = json.load(open("model_zmean.json"))["models"][0]
obs = sum(o["observed"] for o in m["observations"]) / 9
cv = sum(o["loocv"] for o in m["observations"]) / 9
print(f"whole plot (9 subplots): field AGB {obs:.1f} t/ha, LiDAR (zmean, LOOCV) {cv:.1f} t/ha ({(cv-obs)/obs*100:+.1f} %)")
for o in m["observations"]:
    print(f"  {o['id']}: field {o['observed']:.1f}  LOOCV {o['loocv']:.1f}")
PY

# Individual-tree route on the same subplots (`carbon --trees`, carbon-accounting.md §3.1): the
# detected trees' AGB (allometry of the default group from height and crown diameter) summed per
# subplot, calibrated by the ratio of field to ITD AGB; leave-one-subplot-out check of the ratio.
echo "== ITD: detected trees' AGB x ratio (field / ITD), leave-one-out over the 9 subplots"
"$BIN" -q trees chablais3_norm.laz --allometry default -o itd_trees.csv
"$BIN" -q metrics chablais3_norm.laz --grid 20 -o grid20.tif
python3 - <<'PY'
import json, pandas as pd
m = json.load(open("model_zmean.json"))["models"][0]
obs = {o["id"]: o["observed"] for o in m["observations"]}
s = pd.read_csv("subplots.csv")
s["agb_t_ha"] = s.plot_id.map(obs)
s.to_csv("subplots_agb.csv", index=False)
PY
rm -f subplots_agb.gpkg
ogr2ogr -f GPKG subplots_agb.gpkg subplots_agb.csv -oo GEOM_POSSIBLE_NAMES=wkt -oo KEEP_GEOM_COLUMNS=NO \
  -oo AUTODETECT_TYPE=YES -a_srs EPSG:2154 -nln subplots
"$BIN" -q carbon --trees itd_trees.csv --plots subplots_agb.gpkg --grid-raster grid20.tif -o itd
python3 - <<'PY'
import json, math
r = json.load(open("itd/run.json"))["itd"]
f = r["fits"][0]
y = [p["field_agb_t_ha"] for p in f["plots"]]
x = [p["itd_agb_t_ha"] for p in f["plots"]]
n = len(y)
pred = [(sum(y) - y[i]) / (sum(x) - x[i]) * x[i] for i in range(n)]
e = [p - o for p, o in zip(pred, y)]
my = sum(y) / n
rmse = math.sqrt(sum(v * v for v in e) / n)
r2 = 1 - sum(v * v for v in e) / sum((o - my) ** 2 for o in y)
print(f"{r['n_trees']} detected trees; ratio {f['ratio']:.4f} (se {f['se_ratio']:.4f}), grid u {r['u_pct']:.1f} %")
print(f"ITD before the ratio: mean {sum(x)/n:.1f} t/ha vs field {my:.1f} t/ha")
print(f"leave-one-out: RMSE {rmse:.1f} t/ha, rRMSE {rmse/my*100:.1f} %, bias {sum(e)/n:+.2f} t/ha, R2 {r2:.3f}")
PY
echo "outputs in $OUT"
