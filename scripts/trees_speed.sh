#!/usr/bin/env bash
# Speed of the whole `landcarbon trees` command (read, heights from the ground TIN, CHM, tops,
# crowns, metrics, GeoPackage + CSV) on the shared real files. Prints the command's own summary
# (trees/s, points/s) and /usr/bin/time's wall, CPU and peak memory.
# Usage: scripts/trees_speed.sh [path/to/landcarbon] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-}
T=${2:-0}
if [ -z "$B" ]; then
  cargo build --release --bin landcarbon >&2
  B=${CARGO_TARGET_DIR:-target}/release/landcarbon
fi
R=${LANDCARBON_SHARED:-../shared/testdata/real}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc), threads: $T"
run() {
  local name=$1; shift
  echo "== $name"
  /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" "$B" --threads "$T" trees "$@" -o "$OUT/$name.gpkg"
}
run bcts "$R/lasR_bcts_1.laz" "$R/lasR_bcts_2.laz" "$R/lasR_bcts_4.laz"
run bcts_laz_out "$R/lasR_bcts_1.laz" "$R/lasR_bcts_2.laz" "$R/lasR_bcts_4.laz" --laz-out "$OUT/laz"
run MixedConifer "$R/lidR_MixedConifer.laz"
run Megaplot "$R/lidR_Megaplot.laz"
run chablais3 "$R/lidaRtRee_las_chablais3.laz"
