#!/usr/bin/env bash
# The main job on the bundled data: installs what is missing, builds in release, runs, and says
# where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q
BIN=target/release/landcarbon
OUT=${OUT:-out/demo}
mkdir -p "$OUT"
echo "== landcarbon info on the bundled real tiles"
$BIN info testdata/*.la[sz] testdata/isprs/samp11-utm.laz | tee "$OUT/info.txt"
echo
echo "outputs in $OUT/"
