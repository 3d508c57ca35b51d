#!/usr/bin/env bash
# DTM agreement: DTM from OUR ground classification vs DTM from the PROVIDER's class 2, per tile,
# at 1 m (the issue's target: RMSE <= 0.15 m). The provider's class 2 on these forest tiles is a
# subset of the true ground, so this measures whether our ground gives the same terrain.
#
# Usage: scripts/dtm-agreement.sh [--ours DIR] [--res R] [--keep DIR] [TILE.laz ...] [-- ground flags]
#   TILE       provider-classified tiles (default: lasR_bcts_{1,2,4}.laz, lidR_Topography.laz from
#              ../shared/testdata/real or $LANDCARBON_SHARED);
#   --ours DIR a folder of tiles already ground-classified by us (same file names), e.g. the output
#              of `landcarbon ground`; without it the script runs `landcarbon ground` on each tile
#              (default parameters, plus any flags after --) if that subcommand exists;
#   --keep DIR keep the rasters and classified tiles there (default: a temporary folder).
# Each DTM is made by `landcarbon dtm` (TIN, lidR tin() defaults) from class 2, and compared with
# `landcarbon eval dtm OURS.tif PROVIDER.tif`. The provider's DTM interpolates across the gaps of
# its sparse ground, so the last columns also give our DTM at the provider's ground points
# themselves (scripts/dtm_at_points.py; the provider's own 1 m DTM scores 0.04-0.08 m there).
# Set LANDCARBON_BIN to use a prebuilt binary.
set -euo pipefail
cd "$(dirname "$0")/.."
OURS=""; RES=1; KEEP=""; TILES=(); GROUND_FLAGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ours) OURS=$2; shift 2 ;;
    --res) RES=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --) shift; GROUND_FLAGS=("$@"); break ;;
    *) TILES+=("$1"); shift ;;
  esac
done
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
if [[ ${#TILES[@]} -eq 0 ]]; then
  for t in lasR_bcts_1 lasR_bcts_2 lasR_bcts_4 lidR_Topography; do
    if [[ -f "$SHARED/$t.laz" ]]; then TILES+=("$SHARED/$t.laz"); else echo "SKIP $t: not found in $SHARED" >&2; fi
  done
fi
[[ ${#TILES[@]} -gt 0 ]] || { echo "no tile to evaluate" >&2; exit 2; }
. scripts/lib.sh
BIN=$(landcarbon_bin)
if [[ -n "$KEEP" ]]; then OUT=$KEEP; mkdir -p "$OUT"; else OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; fi
if [[ -z "$OURS" ]]; then
  if "$BIN" ground --help >/dev/null 2>&1; then
    OURS="$OUT/ours"; mkdir -p "$OURS"
  else
    echo "this build of landcarbon has no 'ground' subcommand: classify the tiles first and pass --ours DIR" >&2
    exit 2
  fi
  RUN_GROUND=1
else
  RUN_GROUND=0
fi
printf '%-18s %9s %9s %9s %9s %9s %9s %9s %-6s | %s\n' tile "gnd prov" "gnd ours" cells "RMSE m" "bias m" "MAE m" "max m" verdict "at provider ground points: RMSE m, bias m"
fail=0
for t in "${TILES[@]}"; do
  name=$(basename "$t" .laz)
  ours="$OURS/$name.laz"
  if [[ $RUN_GROUND == 1 ]]; then
    if ! "$BIN" -q ground "$t" -o "$ours" "${GROUND_FLAGS[@]}" 2>"$OUT/$name.ground.err"; then
      why=$(grep -m1 -E 'error|panicked|Error' -A1 "$OUT/$name.ground.err" | tr '\n' ' ' || true)
      printf '%-18s ground failed: %s\n' "$name" "${why:-$(tail -1 "$OUT/$name.ground.err")}"; fail=1; continue
    fi
  fi
  [[ -f "$ours" ]] || { printf '%-18s missing %s\n' "$name" "$ours"; fail=1; continue; }
  # `dtm` reports "(N ground, ...)" on stderr: keep the counts for the table.
  gp=$("$BIN" dtm "$t" -o "$OUT/${name}_provider.tif" --res "$RES" 2>&1 | sed -n 's/.*(\([0-9]*\) ground.*/\1/p')
  go=$("$BIN" dtm "$ours" -o "$OUT/${name}_ours.tif" --res "$RES" 2>&1 | sed -n 's/.*(\([0-9]*\) ground.*/\1/p')
  at_points=$(python3 scripts/dtm_at_points.py "$t" "$OUT/${name}_ours.tif" 2>/dev/null | awk '{print $1", "$2}' || true)
  "$BIN" eval dtm "$OUT/${name}_ours.tif" "$OUT/${name}_provider.tif" --json |
    python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = d["rmse_m"] <= 0.15
print("%-18s %9s %9s %9d %9.4f %+9.4f %9.4f %9.3f %-6s | %s" % (sys.argv[1], sys.argv[2], sys.argv[3], d["n_common"],
      d["rmse_m"], d["bias_m"], d["mae_m"], d["max_abs_m"], "PASS" if ok else "FAIL", sys.argv[4] or "n/a"))
sys.exit(0 if ok else 1)' "$name" "${gp:-?}" "${go:-?}" "$at_points" || fail=1
done
[[ $fail == 0 ]] || echo "FAIL: a DTM-to-DTM RMSE above the target of 0.15 m"
exit $fail
