#!/usr/bin/env bash
# Terrain figures on the real forest tiles, from the provider's class 2: DTM at 1 m by TIN and by
# kNN-IDW (their agreement by `landcarbon eval dtm`), wall time, throughput (million points of the
# tile per second, whole command: read LAZ -> surface -> GeoTIFF) and peak RSS (/usr/bin/time),
# single-threaded and with all cores; then `landcarbon normalize` (TIN, heights as Z) likewise.
#
# Usage: scripts/dtm-measure.sh [TILE.laz ...]   (default: lasR_bcts_{1,2,4}, lidR_Topography)
# Set LANDCARBON_BIN to use a prebuilt release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
TILES=("$@")
if [[ ${#TILES[@]} -eq 0 ]]; then
  for t in lasR_bcts_1 lasR_bcts_2 lasR_bcts_4 lidR_Topography; do
    [[ -f "$SHARED/$t.laz" ]] && TILES+=("$SHARED/$t.laz") || echo "SKIP $t: not in $SHARED" >&2
  done
fi
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
. scripts/lib.sh
BIN=$(landcarbon_bin)
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
NCPU=$(nproc)
# run LABEL NPOINTS CMD... : prints wall, Mpts/s, peak RSS
run() {
  local label=$1 n=$2; shift 2
  /usr/bin/time -f '%e %M' -o "$OUT/time" "$@" >/dev/null 2>"$OUT/err" || { echo "$label failed: $(tail -1 "$OUT/err")"; return; }
  read -r wall rss <"$OUT/time"
  python3 -c "import sys; w=$wall; print('%-34s %7.2f s %7.2f Mpts/s %7.0f MB' % ('$label', w, $n/1e6/max(w,1e-3), $rss/1024))"
}
for t in "${TILES[@]}"; do
  name=$(basename "$t" .laz)
  n=$(python3 - "$t" <<'PY'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    h = f.read(375)
legacy = struct.unpack_from('<I', h, 107)[0]
major, minor = h[24], h[25]
print(struct.unpack_from('<Q', h, 247)[0] if (major, minor) >= (1, 4) and legacy == 0 else legacy)
PY
)
  echo "== $name ($n points)"
  for m in tin idw; do
    for th in 1 "$NCPU"; do
      run "dtm --method $m --threads $th" "$n" "$BIN" -q --threads "$th" dtm "$t" -o "$OUT/${name}_$m.tif" --method "$m"
    done
  done
  for th in 1 "$NCPU"; do
    run "normalize (tin, Z) --threads $th" "$n" "$BIN" -q --threads "$th" normalize "$t" -o "$OUT/${name}_norm.laz"
  done
  "$BIN" eval dtm "$OUT/${name}_tin.tif" "$OUT/${name}_idw.tif" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("TIN vs IDW: %d cells, RMSE %.4f m, bias %+.4f m, MAE %.4f m, max %.3f m" % (
    d["n_common"], d["rmse_m"], d["bias_m"], d["mae_m"], d["max_abs_m"]))'
done
