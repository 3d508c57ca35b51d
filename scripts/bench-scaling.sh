#!/usr/bin/env bash
# Scaling of cost and memory with the size of the input: the three real lasR_bcts_{1,2,4}.laz
# tiles of the shared data set (1.95 M points) replicated 1x, 2x, 4x and 8x side by side
# (examples/replicate.rs: copy k shifted by k times the extent's width + 10 m), laid out
#   many: one file per tile and copy (3, 6, 12, 24 files), and
#   one:  every copy merged into one file,
# and the same command run on each: `landcarbon ground --threads 1` (and, with RUN=1,
# `landcarbon run --threads 1` on a minimal pipeline: ground, DTM, CHM, trees, metrics).
# CPU time (user + system), wall time and peak RSS from /usr/bin/time -v; medians over RUNS runs
# (default 3), the runs of every size and layout interleaved. With --threads 1 the CPU time is
# the cost, and unlike the wall time it holds on a machine shared with other jobs. Prints CPU µs
# per point and peak RSS per size and layout: a cost linear in the points gives a flat µs/point
# column, a memory bounded by the chunk a flat RSS column. Each run is also logged to stderr.
#
# Usage: scripts/bench-scaling.sh [RUNS] [SIZES...]     (default 3 runs, sizes 1 2 4 8)
# env: LANDCARBON_SHARED (real data), LANDCARBON_BIN (binary), RUN=1 (also time `run`),
#      EXTRA="--flags" (added to every command, e.g. EXTRA="--config big.toml").
# The replicated files are written to target/bench-scaling/ (reused when present, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
shift || true
SIZES=("${@:-1 2 4 8}")
# shellcheck disable=SC2206
SIZES=(${SIZES[*]})
DATA=${LANDCARBON_SHARED:-../shared/testdata/real}
TILES=("$DATA/lasR_bcts_1.laz" "$DATA/lasR_bcts_2.laz" "$DATA/lasR_bcts_4.laz")
for t in "${TILES[@]}"; do
  [[ -f "$t" ]] || { echo "SKIP: $t not found (set LANDCARBON_SHARED)"; exit 0; }
done
if [[ ! -x /usr/bin/time ]]; then
  (apt-get update -qq && apt-get install -y -qq time) >/dev/null
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. scripts/lib.sh
BIN=$(private_landcarbon_bin "$WORK")
GEN=${CARGO_TARGET_DIR:-target}/bench-scaling
mkdir -p "$GEN"
cargo build --release --example replicate --quiet
REPL=${CARGO_TARGET_DIR:-target}/release/examples/replicate
for n in "${SIZES[@]}"; do
  [[ -f "$GEN/one_$n.laz" ]] || "$REPL" "$GEN/one_$n.laz" "$n" "${TILES[@]}" >/dev/null
  [[ -d "$GEN/many_$n" ]] || "$REPL" --separate "$GEN/many_$n" "$n" "${TILES[@]}" >/dev/null
done
points() { "$BIN" info "$@" --json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["total_points"])'; }

# time_v CMD...: runs CMD under /usr/bin/time -v; prints "WALL_S CPU_S RSS_MB".
time_v() {
  if ! /usr/bin/time -v "$@" 2>"$WORK/time.txt" >/dev/null; then
    echo "FAILED: $*" >&2; tail -5 "$WORK/time.txt" >&2; exit 1
  fi
  python3 - "$WORK/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
print(f"{secs:.3f} {cpu:.3f} {rss:.0f}")
PY
}

input_of() { if [[ $1 == one ]]; then echo "$GEN/one_$2.laz"; else echo "$GEN/many_$2"; fi; }
# The minimal pipeline: one survey, no plots or model (so no calibration, carbon or accounting).
for n in "${SIZES[@]}"; do
  for lay in many one; do
    cat >"$WORK/pipeline_${lay}_$n.toml" <<TOML
[run]
output = "$WORK/out"
[[run.surveys]]
year = 2020
inputs = ["$(input_of "$lay" "$n")"]
TOML
  done
done
# command CMD LAYOUT SIZE: the command line timed.
command_of() {
  # shellcheck disable=SC2086
  case $1 in
    ground) echo "$BIN" -q --threads 1 ${EXTRA:-} ground "$(input_of "$2" "$3")" -o "$WORK/out" ;;
    run) echo "$BIN" -q --threads 1 ${EXTRA:-} run "$WORK/pipeline_$2_$3.toml" ;;
  esac
}
COMMANDS=(ground)
[[ ${RUN:-0} == 1 ]] && COMMANDS+=(run)

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $($BIN --version); runs: $RUNS (medians)"
declare -A WALL CPU RSS NPTS
for n in "${SIZES[@]}"; do
  NPTS[$n]=$(points "$GEN/one_$n.laz")
done
for r in $(seq "$RUNS"); do
  for cmd in "${COMMANDS[@]}"; do
    for n in "${SIZES[@]}"; do
      for lay in many one; do
        rm -rf "$WORK/out"
        # shellcheck disable=SC2046
        read -r w u m < <(time_v $(command_of "$cmd" "$lay" "$n"))
        echo "  $cmd ${n}x $lay: wall $w s, cpu $u s, peak $m MB" >&2
        WALL[$cmd,$n,$lay]+="$w "
        CPU[$cmd,$n,$lay]+="$u "
        RSS[$cmd,$n,$lay]+="$m "
      done
    done
  done
  echo "  round $r/$RUNS done" >&2
done
median() { python3 -c 'import sys,statistics as s; print(s.median([float(x) for x in sys.argv[1:]]))' "$@"; }
for cmd in "${COMMANDS[@]}"; do
  echo
  echo "landcarbon $cmd --threads 1 ${EXTRA:-}"
  printf '%5s %10s | %7s %7s %7s | %7s %7s %7s | %s\n' size points "cpu s" "µs/pt" "RSS MB" "cpu s" "µs/pt" "RSS MB" "one/many"
  printf '%5s %10s | %23s | %23s |\n' "" "" "many files" "one file"
  for n in "${SIZES[@]}"; do
    p=${NPTS[$n]}
    # shellcheck disable=SC2086
    wm=$(median ${WALL[$cmd,$n,many]}); um=$(median ${CPU[$cmd,$n,many]}); mm=$(median ${RSS[$cmd,$n,many]})
    # shellcheck disable=SC2086
    wo=$(median ${WALL[$cmd,$n,one]}); uo=$(median ${CPU[$cmd,$n,one]}); mo=$(median ${RSS[$cmd,$n,one]})
    python3 -c "
p, wm, um, mm, wo, uo, mo = $p, $wm, $um, $mm, $wo, $uo, $mo
print('%4dx %10d | %7.2f %7.3f %7.0f | %7.2f %7.3f %7.0f | %.2f   (wall %.1f s, %.1f s)' % ($n, p, um, um / p * 1e6, mm, uo, uo / p * 1e6, mo, uo / um, wm, wo))"
  done
done
