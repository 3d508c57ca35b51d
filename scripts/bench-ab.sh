#!/usr/bin/env bash
# A/B CPU benchmark of two landcarbon binaries on one pipeline, one thread, interleaved
# (old, new, old, new, ...) so that a shared machine's load hits both alike. Prints, per run,
# user+system CPU seconds, peak RSS and the per-stage seconds of run.json; quote medians.
# Usage: scripts/bench-ab.sh OLD_BIN NEW_BIN PIPELINE.toml [RUNS=3]
# e.g.   cp target/release/landcarbon /tmp/lc-old   # before the change, then rebuild
#        scripts/bench-ab.sh /tmp/lc-old target/release/landcarbon /tmp/county/pipeline.toml 3
set -euo pipefail
old=$1; new=$2; toml=$3; n=${4:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$n"); do
  for v in old new; do
    bin=$old; [[ $v == new ]] && bin=$new
    rm -rf "$work/out"
    /usr/bin/time -f "%U %S %M" -o "$work/time" "$bin" -q --threads 1 run "$toml" -o "$work/out" >/dev/null
    python3 - "$work/out/run.json" "$work/time" "$v" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u, s, m = open(sys.argv[2]).read().split()
st = " ".join("%s=%.2f" % (k.replace(" ", "_"), v) for k, v in r["stage_seconds"])
print(sys.argv[3], "cpu %.2f" % (float(u) + float(s)), "rss %d MB" % (int(m) // 1024), st)
PY
  done
done
