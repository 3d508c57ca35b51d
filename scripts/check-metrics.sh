#!/usr/bin/env bash
# Checks `landcarbon metrics --plots` against an independent numpy implementation of the
# metric definitions (scripts/check_metrics.py) on the height-normalized real files of the
# shared set (lidR Megaplot and MixedConifer): a grid of 11.28 m plots over each file, all 68
# metrics must agree within 1e-9 (relative).
#
# usage: scripts/check-metrics.sh     (needs python3 with numpy, pandas, laspy, lazrs)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(private_landcarbon_bin "$TMP")
REAL=${LANDCARBON_SHARED:-../shared/testdata/real}
status=0
for f in lidR_Megaplot lidR_MixedConifer; do
  laz=$REAL/$f.laz
  [[ -f $laz ]] || { echo "SKIP $f: $laz not found"; continue; }
  python3 - "$laz" "$TMP/$f.plots.csv" <<'PY'
import sys, laspy, numpy as np
las = laspy.read(sys.argv[1])
rows = []
for cx in np.arange(las.x.min() + 15, las.x.max() - 10, 30):
    for cy in np.arange(las.y.min() + 15, las.y.max() - 10, 30):
        rows.append(f"P{len(rows)},{cx:.2f},{cy:.2f},11.28")
open(sys.argv[2], "w").write("plot_id,x,y,radius_m\n" + "\n".join(rows) + "\n")
PY
  echo "== $f"
  # The files are height-normalized and the check reads Z: metrics on Z as is.
  "$BIN" -q metrics "$laz" --height z --plots "$TMP/$f.plots.csv" -o "$TMP/$f.metrics.csv"
  python3 scripts/check_metrics.py "$laz" "$TMP/$f.plots.csv" "$TMP/$f.metrics.csv" || status=1
done
exit $status
