#!/usr/bin/env bash
# Scale benchmark of the whole chain: a synthetic county flown twice (`landcarbon synth-demo`,
# terrain + trees + land-survey patches + field plots) run with `landcarbon run` — read, ground,
# DTM, normalize, vegetation, CHM, trees, grid metrics, plot metrics, calibration, carbon
# density, mosaics, zonal sums, accounting tables and report — once per thread count.
# Reports wall time, points/s and points/s per core, the per-stage CPU seconds summed over
# chunks (from run.json) with each stage's ns per point (the budget table of issue #12), and
# peak RSS (/usr/bin/time -v). A second, quarter-size county run
# with the same chunking shows whether peak memory depends on the number of tiles.
#
# Usage: scripts/bench-county.sh [--cells N] [--pulses P] [--threads "1 2"] [--data DIR]
#   --cells   county side in 50 m cells (default 58: 2.9 km x 2.9 km, two surveys,
#             about 54 M points in all at the default 4 pulses/m²)
#   --data    keep the generated county there and reuse it on the next call (generation takes
#             a few minutes); default: a temporary folder
# Set LANDCARBON_BIN to use a prebuilt release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
CELLS=58; PULSES=4; THREADS="1 $(nproc)"; DATA=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cells) CELLS=$2; shift 2 ;;
    --pulses) PULSES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
. scripts/lib.sh
BIN=$(landcarbon_bin)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[[ -n "$DATA" ]] || DATA="$WORK/data"

# county CELLS DIR: generates the county once (reused when DIR already holds it).
county() {
  local cells=$1 dir=$2
  if [[ ! -f "$dir/pipeline.toml" || "$(cat "$dir/.cells" 2>/dev/null)" != "$cells $PULSES" ]]; then
    rm -rf "$dir"
    echo "generating a county of ${cells}x${cells} cells of 50 m at $PULSES pulses/m² in $dir ..." >&2
    "$BIN" -q synth-demo -o "$dir" --cells "$cells" --pulses "$PULSES" >/dev/null
    echo "$cells $PULSES" >"$dir/.cells"
  fi
}

# run_once DIR THREADS OUT: prints one result line as JSON (wall, points, RSS, stages).
run_once() {
  local dir=$1 th=$2 out=$3
  rm -rf "$out"
  /usr/bin/time -v "$BIN" -q --threads "$th" run "$dir/pipeline.toml" -o "$out" \
    >"$WORK/run.log" 2>"$WORK/time.txt" || { cat "$WORK/run.log" "$WORK/time.txt" >&2; exit 1; }
  python3 - "$WORK/time.txt" "$out" "$th" <<'PY'
import glob, json, re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
cpu = float(re.search(r"User time \(seconds\): (\S+)", t).group(1)) + float(
    re.search(r"System time \(seconds\): (\S+)", t).group(1))
points, stages, chunks = 0, {}, 0
for f in glob.glob(sys.argv[2] + "/**/run.json", recursive=True):
    r = json.load(open(f))
    if "surveys" in r:  # a summary record that lists the per-survey ones
        continue
    points += r.get("points", 0)
    chunks += r.get("chunks_total", 0)
    for name, s in r.get("stage_seconds", []):
        stages[name] = stages.get(name, 0.0) + s
print(json.dumps(dict(threads=int(sys.argv[3]), wall=wall, cpu=cpu, rss=rss, points=points,
                      chunks=chunks, stages=stages)))
PY
}

county "$CELLS" "$DATA/county"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$BIN" --version)"
"$BIN" info "$DATA"/county/lidar_points_*/ 2>/dev/null | grep -E '^total' | sed 's/^/county: /' || true
results=()
for th in $THREADS; do
  results+=("$(run_once "$DATA/county" "$th" "$WORK/out-$th")")
done
small=$((CELLS / 2))
county "$small" "$DATA/county-small"
small_res=$(run_once "$DATA/county-small" "${THREADS##* }" "$WORK/out-small")

python3 - "$small_res" "${results[@]}" <<'PY'
import json, sys
small = json.loads(sys.argv[1])
rows = [json.loads(a) for a in sys.argv[2:]]
print()
print("%-8s %9s %9s %8s %12s %14s %10s %9s" % ("threads", "points", "chunks", "wall s", "points/s",
      "points/s/core", "CPU s", "peak MB"))
base = None
for r in rows:
    pps = r["points"] / r["wall"]
    base = base or pps / r["threads"]
    print("%-8d %9.2fM %9d %8.1f %11.2fM %13.2fM %10.1f %9.0f" % (r["threads"], r["points"] / 1e6,
          r["chunks"], r["wall"], pps / 1e6, pps / r["threads"] / 1e6, r["cpu"], r["rss"]))
if len(rows) > 1:
    r = rows[-1]
    eff = r["points"] / r["wall"] / r["threads"] / base
    print("parallel efficiency at %d threads: %.0f %% of the 1-thread rate per core" % (r["threads"], 100 * eff))
for r in rows:
    print()
    print("per-stage seconds (map stages: CPU summed over chunks; reducers: wall), threads = %d:" % r["threads"])
    print("  %-20s %8s  %6s  %12s  %8s" % ("stage", "s", "share", "points/s", "ns/point"))
    st = r["stages"]
    tot = sum(st.values())
    for k, v in sorted(st.items(), key=lambda kv: -kv[1]):
        print("  %-20s %8.1f  %5.1f%%  %11.2fM  %8.0f" % (k, v, 100 * v / tot,
              r["points"] / v / 1e6 if v > 0 else 0, 1e9 * v / r["points"]))
    print("  %-20s %8.1f  %5.1f%%  %11.2fM  %8.0f" % ("all stages", tot, 100.0,
          r["points"] / tot / 1e6 if tot > 0 else 0, 1e9 * tot / r["points"]))
print()
print("memory vs county size (same chunks, %d threads): %.2f M points -> %.0f MB; %.2f M points -> %.0f MB"
      % (small["threads"], small["points"] / 1e6, small["rss"], rows[-1]["points"] / 1e6, rows[-1]["rss"]))
PY
