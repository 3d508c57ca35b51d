#!/usr/bin/env bash
# Reads the `treeID` dimension of `landcarbon trees --laz-out` with laspy + lazrs, a reader
# independent of ours: it must be an unsigned 64-bit integer extra-bytes dimension (LAS data
# type 7, numpy uint64), 0 on points outside crowns, and its non-zero values must be the
# `tree_id` column of the tree table, read as integers.
#
# usage: scripts/check-treeid-laspy.sh [TILE.laz]   (default: the bundled IGN tile)
#   PYTHON: a python3 with laspy and lazrs (default: a venv made in a temporary folder, pip
#   install laspy lazrs); LANDCARBON_BIN: a prebuilt release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
TILE=${1:-testdata/ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(private_landcarbon_bin "$TMP")
if [[ -z "${PYTHON:-}" ]]; then
  python3 -m venv "$TMP/venv"
  "$TMP/venv/bin/pip" install -q laspy lazrs
  PYTHON=$TMP/venv/bin/python
fi
"$BIN" -q trees "$TILE" -o "$TMP/trees.csv" --laz-out "$TMP/laz"
"$PYTHON" - "$TMP/laz" "$TMP/trees.csv" <<'PY'
import csv, glob, sys
import laspy, numpy as np

files = sorted(glob.glob(sys.argv[1] + "/*.laz"))
assert files, "no LAZ written"
laz_ids = set()
for f in files:
    las = laspy.read(f)
    dims = {d.name: d for d in las.point_format.extra_dimensions}
    assert "treeID" in dims, f"{f}: no treeID dimension ({list(dims)})"
    vlr = las.header.vlrs.get("ExtraBytesVlr")[0]
    types = {i.name.rstrip(b"\0").decode(): i.data_type for i in vlr.extra_bytes_structs}
    assert types["treeID"] == 7, f"{f}: treeID has data type {types['treeID']}, not 7 (uint64)"
    ids = np.asarray(las["treeID"])
    assert ids.dtype == np.uint64, f"{f}: treeID read as {ids.dtype}"
    assert (ids == 0).any(), f"{f}: no point outside a crown"
    laz_ids |= set(int(i) for i in np.unique(ids) if i != 0)
with open(sys.argv[2]) as fh:
    table = {int(r["tree_id"]) for r in csv.DictReader(fh)}
assert laz_ids <= table, f"{len(laz_ids - table)} LAZ tree IDs not in the table"
assert len(laz_ids) * 10 >= len(table) * 9, f"{len(laz_ids)} labelled trees of {len(table)}"
print(f"OK: treeID is uint64 (extra-bytes type 7) in {len(files)} file(s); "
      f"{len(laz_ids)} labelled trees, all in the table of {len(table)}")
PY
