#!/usr/bin/env bash
# Read speed from Python vs the CLI on the same LAZ file, interleaved runs, medians of RUNS (5):
#   in-process: landcarbon.read(FILE) timed in Python vs landcarbon::points::read timed in Rust
#               (examples/bench_read columns: the function the CLI reads with);
#   whole process: `python -c "landcarbon.read(FILE)"` vs `landcarbon info FILE` (which reads
#               every point too, and tallies classes and returns).
# The in-process times exclude Python's imports (numpy is imported before the clock starts);
# the whole-process times include them.
# Needs the wheel installed by scripts/test-python.sh (target/py-test-venv).
#   bash scripts/bench-python-read.sh [FILE]   (default: the shared lasR_bcts_2.laz, else a
#                                               bundled tile)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
PYV="$TARGET/py-test-venv/bin/python"
[ -x "$PYV" ] || { echo "bench-python-read: run scripts/test-python.sh first (no $PYV)" >&2; exit 2; }
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
FILE=${1:-}
if [ -z "$FILE" ]; then
  FILE="$SHARED/lasR_bcts_2.laz"
  [ -f "$FILE" ] || { FILE=testdata/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz; echo "NOTE: shared set absent, using the small bundled $FILE" >&2; }
fi
RUNS=${RUNS:-5}
cargo build --release -q --bin landcarbon --example bench_read
BIN="$TARGET/release/landcarbon"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
py_in=(); rs_in=(); py_proc=(); cli_proc=()
for _ in $(seq "$RUNS"); do
  py_in+=("$("$PYV" -c '
import sys, time, numpy, landcarbon  # numpy first: a notebook has it loaded already
t = time.perf_counter(); c = landcarbon.read(sys.argv[1]); s = float(c.z.sum()) + float(c.intensity.sum())
print(time.perf_counter() - t)' "$FILE")")
  rs_in+=("$("$TARGET/release/examples/bench_read" columns "$FILE" | awk '{print $2}')")
  t=$(now); "$PYV" -c 'import sys, landcarbon; landcarbon.read(sys.argv[1])' "$FILE"; py_proc+=("$(echo "$(now) - $t" | bc -l)")
  t=$(now); "$BIN" -q info "$FILE" >/dev/null; cli_proc+=("$(echo "$(now) - $t" | bc -l)")
done
pi=$(printf "%s\n" "${py_in[@]}" | median); ri=$(printf "%s\n" "${rs_in[@]}" | median)
pp=$(printf "%s\n" "${py_proc[@]}" | median); cp=$(printf "%s\n" "${cli_proc[@]}" | median)
echo "file: $FILE ($(du -h "$FILE" | cut -f1)), $RUNS interleaved runs, medians"
printf "in-process read:  python %.3f s   rust %.3f s   python/rust %.3f\n" "$pi" "$ri" "$(echo "$pi / $ri" | bc -l)"
printf "whole process:    python %.3f s   cli info %.3f s   python/cli %.3f\n" "$pp" "$cp" "$(echo "$pp / $cp" | bc -l)"
