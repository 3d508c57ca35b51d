#!/usr/bin/env bash
# Speed of landcarbon's CSF against the official CSF (PyPI cloth-simulation-filter, C++ core),
# on each lasR_bcts_{1,2,4}.laz of the shared real-data set, single-threaded and with all cores:
#  (a) the filter alone: points in memory -> classes. Ours: the "filter" time landcarbon logs for
#      the ground filter (`-v`); official: CSF.do_filtering (scripts/bench_ground.py filter).
#      Both on the same points (last and single returns), official default parameters.
#  (b) the whole command: read LAZ -> classify -> write LAZ, wall time and peak RSS from
#      /usr/bin/time -v. Ours: `landcarbon ground --method csf`; official: CSF wrapped in laspy
#      read/write (scripts/bench_ground.py pipeline). Ours with the default method (auto) too.
#      Single-threaded rows pin every process to one core (taskset -c 0): laspy's default LAZ
#      backend decodes in parallel on every core, which OMP_NUM_THREADS does not limit.
# Medians over RUNS runs (default 5), runs of ours and theirs interleaved. Installs what it needs
# (GNU time, the Python packages) when missing.
#
# Usage: scripts/bench-ground.sh [RUNS]     (env: LANDCARBON_SHARED, LANDCARBON_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DATA=${LANDCARBON_SHARED:-../shared/testdata/real}
ALL=$(nproc)

if [[ ! -x /usr/bin/time ]]; then
  (apt-get update -qq && apt-get install -y -qq time) >/dev/null
fi
python3 -c "import CSF, laspy, lazrs, numpy" 2>/dev/null ||
  python3 -m pip install -q cloth-simulation-filter laspy lazrs numpy

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A copy, so that a rebuild during the benchmark does not change what is measured.
. scripts/lib.sh
cp "$(landcarbon_bin)" "$WORK/landcarbon"
BIN="$WORK/landcarbon"

median() { python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.argv[1:]]; print("%.3f" % s.median(v))' "$@"; }
# time_v CMD...: runs CMD under /usr/bin/time -v; prints "WALL_S RSS_MB".
time_v() {
  /usr/bin/time -v "$@" 2>"$WORK/time.txt" >/dev/null
  python3 - "$WORK/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(w)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print(f"{secs:.3f} {rss:.0f}")
PY
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (medians)"
echo
echo "(a) filter alone (points in memory -> classes), seconds"
printf '%-12s %9s %8s | %9s %9s %6s | %9s %9s %6s\n' tile points threads "official" ours ratio "" "" ""
for n in 1 2 4; do
  f="$DATA/lasR_bcts_$n.laz"
  [[ -f "$f" ]] || { echo "SKIP $f (not found)"; continue; }
  for th in 1 "$ALL"; do
    ours=(); theirs=(); pts=0
    for _ in $(seq "$RUNS"); do
      s=$("$BIN" -v --threads "$th" ground "$f" -o "$WORK/o.laz" --method csf --noise none 2>&1 |
        sed -n 's/.*filter \([0-9.]*\) s on \([0-9]*\) candidates.*/\1 \2/p')
      ours+=("${s% *}"); pts=${s#* }
      j=$(OMP_NUM_THREADS=$th python3 scripts/bench_ground.py filter "$f" 1)
      theirs+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"][0])' "$j")")
    done
    mo=$(median "${ours[@]}"); mt=$(median "${theirs[@]}")
    printf '%-12s %9s %8s | %9s %9s %5.1fx\n' "bcts_$n" "$pts" "$th" "$mt" "$mo" "$(python3 -c "print($mt/$mo)")"
  done
done

echo
echo "(b) whole command (read LAZ -> classify -> write LAZ): wall seconds, peak RSS MB"
echo "    With 1 thread every process is pinned to one core (taskset -c 0): laspy's default LAZ"
echo "    backend (LazrsParallel) otherwise decodes on every core whatever OMP_NUM_THREADS says."
printf '%-12s %8s | %16s | %16s %6s | %16s %6s\n' tile threads "official+laspy" "ours csf" ratio "ours auto" ratio
for n in 1 2 4; do
  f="$DATA/lasR_bcts_$n.laz"
  [[ -f "$f" ]] || continue
  for th in 1 "$ALL"; do
    pin=(); [[ $th == 1 ]] && pin=(taskset -c 0)
    ow=(); orss=(); tw=(); trss=(); aw=(); arss=()
    for _ in $(seq "$RUNS"); do
      read -r w r < <(time_v "${pin[@]}" "$BIN" -q --threads "$th" ground "$f" -o "$WORK/o.laz" --method csf --noise none)
      ow+=("$w"); orss+=("$r")
      read -r w r < <(OMP_NUM_THREADS=$th time_v "${pin[@]}" python3 scripts/bench_ground.py pipeline "$f" "$WORK/p.laz")
      tw+=("$w"); trss+=("$r")
      read -r w r < <(time_v "${pin[@]}" "$BIN" -q --threads "$th" ground "$f" -o "$WORK/a.laz")
      aw+=("$w"); arss+=("$r")
    done
    mow=$(median "${ow[@]}"); mtw=$(median "${tw[@]}"); maw=$(median "${aw[@]}")
    printf '%-12s %8s | %8ss %5sMB | %8ss %5sMB %5.1fx | %8ss %5sMB %5.1fx\n' "bcts_$n" "$th" \
      "$mtw" "$(median "${trss[@]}")" "$mow" "$(median "${orss[@]}")" \
      "$(python3 -c "print($mtw/$mow)")" "$maw" "$(median "${arss[@]}")" \
      "$(python3 -c "print($mtw/$maw)")"
  done
done
