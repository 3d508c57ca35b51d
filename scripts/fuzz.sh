#!/usr/bin/env bash
# Read-path fuzzer (issue #15: no crash and no wrong answer on any input). Builds
# examples/fuzz_read.rs in release and runs it for SECONDS (default 600): mutated copies of
# seed files (four testdata/ LAS/LAZ files and uncompressed copies of two LAZ seeds) go through
# points::open, read, read_filtered and read_filtered_into. A case fails on a panic, a crash
# (abort, signal), an error that does not name the file, points that the read paths disagree
# on or that break the header, one allocation over 512 MiB, or a slow case. Prints cases run,
# cases/s, distinct error messages (OUT/messages.txt), the largest allocation, and every failure
# with its reproducer under OUT/failures/; exits 1 on any failure. Stable toolchain, no
# coverage feedback (cargo-fuzz needs nightly). The short deterministic pass is
# tests/fuzz_seed.rs.
#
# Usage: bash scripts/fuzz.sh [SECONDS] [OUT]          (OUT default target/fuzz-read)
# One case again: OUT/fuzz_read --repro SEED_FILE CASE --out /tmp/repro   (FUZZ_BACKTRACE=1
# adds the backtrace of a panic)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-600}
OUT=${2:-target/fuzz-read}
cargo build --release --example fuzz_read
mkdir -p "$OUT"
rm -rf "$OUT/failures"
# Run a copy: a rebuild during the run must not replace the binary the workers restart from.
cp target/release/examples/fuzz_read "$OUT/fuzz_read"
exec "$OUT/fuzz_read" --seconds "$SECS" --out "$OUT"
