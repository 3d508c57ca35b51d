#!/usr/bin/env bash
# Whole-process read throughput: landcarbon's column reader vs raw laz-rs decompression of the
# same >= 5 M-point LAZ (the three real bcts tiles of the shared set, replicated 3x side by side),
# with 1 thread and with all cores. Prints points/s (median of N runs) and the ratio.
# Needs ../shared/testdata/real (skips with a message when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SHARED=${LANDCARBON_SHARED:-../shared/testdata/real}
if [ ! -f "$SHARED/lasR_bcts_1.laz" ]; then
  echo "SKIP bench-read: $SHARED/lasR_bcts_*.laz not found" >&2; exit 0
fi
RUNS=${RUNS:-5}
OUT=${OUT_DIR:-target/bench}
mkdir -p "$OUT"
cargo build --release -q --example bench_read --example replicate
BIG="$OUT/bcts_x3.laz"
[ -f "$BIG" ] || target/release/examples/replicate "$BIG" 3 "$SHARED"/lasR_bcts_{1,2,4}.laz
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "file: $BIG ($(du -h "$BIG" | cut -f1))"
printf "%-8s %-8s %14s %14s %8s\n" threads mode "median pts/s" "median s" "peak MB"
for threads in 1 "$(nproc)"; do
  declare -A rate
  for mode in raw columns; do
    rates=(); secs=()
    for _ in $(seq "$RUNS"); do
      line=$(RAYON_NUM_THREADS=$threads /usr/bin/time -f "%M" -o "$OUT/rss" target/release/examples/bench_read $mode "$BIG")
      rates+=("$(echo "$line" | awk '{print $3}')"); secs+=("$(echo "$line" | awk '{print $2}')")
    done
    r=$(printf "%s\n" "${rates[@]}" | median); s=$(printf "%s\n" "${secs[@]}" | median)
    rate[$mode]=$r
    printf "%-8s %-8s %14.0f %14.3f %8.0f\n" "$threads" "$mode" "$r" "$s" "$(( $(cat "$OUT/rss") / 1024 ))"
  done
  awk -v a="${rate[columns]}" -v b="${rate[raw]}" -v t="$threads" 'BEGIN {printf "threads %s: columns / raw = %.1f %%\n", t, 100*a/b}'
done
