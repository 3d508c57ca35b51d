# Shared helpers of the scripts in scripts/ (source it: `. scripts/lib.sh`).

# landcarbon_bin: prints the absolute path of the release binary: $LANDCARBON_BIN when set,
# else builds it (cargo build --release) and prints where cargo put it.
landcarbon_bin() {
  if [[ -n "${LANDCARBON_BIN:-}" ]]; then
    echo "$LANDCARBON_BIN"
    return
  fi
  cargo build --release --bin landcarbon --quiet >&2
  local dir=${CARGO_TARGET_DIR:-target}
  [[ "$dir" = /* ]] || dir="$(pwd)/$dir"
  echo "$dir/release/landcarbon"
}

# private_landcarbon_bin DIR: copies the release binary into DIR and prints the copy's path, so
# that a rebuild (another checkout sharing CARGO_TARGET_DIR) cannot change it mid-script.
private_landcarbon_bin() {
  local src
  src=$(landcarbon_bin)
  cp "$src" "$1/landcarbon"
  echo "$1/landcarbon"
}
