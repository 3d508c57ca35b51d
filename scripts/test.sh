#!/usr/bin/env bash
# Runs the whole test suite (installs what is missing first). Tests that need the shared
# real-data set (../shared/testdata/real) skip loudly when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh may have just installed Rust with rustup: put its cargo on PATH here too.
if [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then . "${CARGO_HOME:-$HOME/.cargo}/env"; fi
if [ ! -d ../shared/testdata/real ] && [ -z "${LANDCARBON_SHARED:-}" ]; then
  echo "NOTE: ../shared/testdata/real not found: real-data tests will print SKIP and pass." >&2
fi
# Benchmarks must keep compiling; they run with scripts/bench-*.sh and `cargo bench`.
cargo build --release --benches --examples -q
cargo test --release -- --test-threads=2
# The Python package (python/): wheel built with maturin in the same target/, installed into a
# fresh venv, pytest against the CLI on the same files.
bash scripts/test-python.sh
# A sharded run on a real (single-node) Slurm equals the single-process run; skips loudly when
# Slurm cannot be installed or started.
bash scripts/slurm/equality-test.sh
# Outputs on a full disk: non-zero exit, nothing under a final name (root only; skips loudly).
bash scripts/disk-full.sh
# Tree IDs in LAZ read back with laspy (an independent reader): uint64 extra bytes.
bash scripts/check-treeid-laspy.sh
