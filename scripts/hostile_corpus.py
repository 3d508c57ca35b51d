#!/usr/bin/env python3
"""Writes hostile LAS/LAZ inputs (byte edits of the bundled test files, stdlib only).

Usage: hostile_corpus.py TESTDATA_DIR OUT_DIR
Prints one line per case: NAME<TAB>EXPECT<TAB>INPUT [INPUT...]
EXPECT: fail = every command must exit non-zero; products = every command but info must;
data = the fault is in the point data: every command but info --header-only must fail; any = must not crash (no panic, no signal);
warn = must not crash and must print a warning naming the file.
"""
import os
import random
import struct
import sys

td, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
LAS = open(os.path.join(td, "laspy_file_with_both_wkt_and_geotiff_vlrs.las"), "rb").read()  # 1.4 fmt 6
LAZ = open(os.path.join(td, "isprs", "samp24-utm.laz"), "rb").read()  # 1.2 fmt 0
BIG = open(os.path.join(td, "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"), "rb").read()  # 1.4
cases = []


def put(b, off, fmt, *v):
    b = bytearray(b)
    struct.pack_into(fmt, b, off, *v)
    return bytes(b)


def get(b, off, fmt):
    return struct.unpack_from(fmt, b, off)[0]


def case(name, data, expect="fail", ext=None):
    ext = ext or (".laz" if len(data) > 104 and data[:4] == b"LASF" and data[104] & 0x80 else ".las")
    p = os.path.join(out, name + ext)
    with open(p, "wb") as f:
        f.write(data)
    cases.append((name, expect, [p]))
    return p


def count(b, n):
    """Sets the point count (legacy u32 field and, for LAS 1.4, the u64 field)."""
    b = put(b, 107, "<I", min(n, 0xFFFFFFFF))
    if b[25] >= 4:
        b = put(b, 247, "<Q", n)
    return b


def pdo(b):
    return get(b, 96, "<I")


# --- not LAS at all
case("empty", b"")
d = os.path.join(out, "folder.las")
os.makedirs(d, exist_ok=True)
cases.append(("dir_named_las", "fail", [d]))
case("text", b"this is not a point cloud\n" * 40, ext=".laz")
case("bad_signature", b"LASX" + LAS[4:])
case("bad_version_major", put(LAS, 24, "<B", 9))
case("bad_version_minor", put(LAS, 25, "<B", 9))
case("trunc_header", LAS[:100])
case("trunc_vlrs", LAS[:500])
case("trunc_las_half", LAS[: len(LAS) // 2])
case("trunc_laz_half", LAZ[: len(LAZ) // 2])
case("trunc_laz_after_vlrs", LAZ[: pdo(LAZ) + 8])
case("trunc_bigl_laz_90pct", BIG[: len(BIG) * 9 // 10])
# --- huge or wrong counts
case("count_4e9_las", count(LAS, 4_000_000_000))
case("count_1e9_laz", count(LAZ, 1_000_000_000), expect="data")
case("count_4e9_laz14", count(BIG, 4_000_000_000), expect="data")
case("count_1e18_las14", put(LAS, 247, "<Q", 10**18))
case("count_low_las", count(LAS, get(LAS, 247, "<Q") // 2), expect="warn")
case("zero_points_las", count(LAS, 0)[: pdo(LAS)], expect="any")
# --- record layout
case("reclen_0_las", put(LAS, 105, "<H", 0))
case("reclen_65535_las", put(LAS, 105, "<H", 65535))
case("reclen_65535_laz", put(LAZ, 105, "<H", 65535), expect="data")
case("reclen_short_las", put(LAS, 105, "<H", 10))
case("format_99", put(LAS, 104, "<B", 99))
case("format_compressed_bit_on_las", put(LAS, 104, "<B", 6 | 0x80), ext=".las")
case("format_compressed_bit_off_laz", put(LAZ, 104, "<B", 0), ext=".laz")
case("offset_to_points_past_eof", put(LAS, 96, "<I", len(LAS) + 1000))
case("offset_to_points_0", put(LAS, 96, "<I", 0))
case("header_size_10", put(LAS, 94, "<H", 10))
case("nvlrs_huge", put(LAS, 100, "<I", 0xFFFFFFFF))
case("vlr_len_huge", put(LAS, get(LAS, 94, "<H") + 20, "<H", 0xFFFF))
case("evlr_count_huge", put(put(LAS, 243, "<I", 0xFFFFFFFF), 235, "<Q", len(LAS) - 60))
# --- transforms
case("scale_0", put(LAS, 131, "<d", 0.0))
case("scale_neg", put(LAS, 139, "<d", -0.01))
case("scale_nan", put(LAS, 147, "<d", float("nan")))
case("scale_inf", put(LAS, 131, "<d", float("inf")))
case("scale_1e9", put(LAS, 131, "<d", 1e9), expect="data")
case("scale_1e9_laz", put(LAZ, 139, "<d", 1e9), expect="data")
case("offset_inf", put(LAS, 155, "<d", float("inf")))
case("offset_nan_laz", put(LAZ, 163, "<d", float("nan")))
# --- bounds (max x, min x, max y, min y, max z, min z at 179..)
mx, nx, my, ny = (get(LAS, 179 + 8 * i, "<d") for i in range(4))
case("bounds_swapped", put(put(LAS, 179, "<d", nx), 187, "<d", mx))
case("bounds_nan", put(LAS, 195, "<d", float("nan")))
case("bounds_inf", put(LAS, 179, "<d", float("inf")))
case("bounds_smaller_than_data", put(put(LAS, 179, "<d", (mx + nx) / 2), 195, "<d", (my + ny) / 2), expect="data")
zmx, znx = get(LAZ, 179, "<d"), get(LAZ, 187, "<d")
case("bounds_smaller_laz", put(LAZ, 179, "<d", znx + (zmx - znx) / 3), expect="data")
# --- far points: header and data agree, but 10,000 km away from the other tile
far = put(put(LAS, 155, "<d", get(LAS, 155, "<d") + 1e7), 179, "<d", mx + 1e7)
far = put(far, 187, "<d", nx + 1e7)
fp = case("far_tile", far, expect="any")
cases.append(("far_with_near", "products", [os.path.join(td, "laspy_file_with_both_wkt_and_geotiff_vlrs.las"), fp]))
# points far outside their own (tiny) header bounds
case("far_points_outside_header", put(put(LAS, 155, "<d", get(LAS, 155, "<d") + 1e7), 163, "<d", get(LAS, 163, "<d") - 1e7), expect="data")
# --- corrupt LAZ point data
rng = random.Random(15)
o = pdo(BIG) + 8 + len(BIG) // 3
case("laz_corrupt_4k", BIG[:o] + bytes(rng.randrange(256) for _ in range(4096)) + BIG[o + 4096:], expect="data")
o = pdo(LAZ) + 8 + 3000
case("laz_corrupt_4k_small", LAZ[:o] + bytes(rng.randrange(256) for _ in range(4096)) + LAZ[o + 4096:], expect="data")
case("laz_chunk_table_offset_huge", put(BIG, pdo(BIG), "<q", 1 << 60))
case("laz_chunk_table_offset_neg", put(BIG, pdo(BIG), "<q", -5))
ct = get(BIG, pdo(BIG), "<q")
if 0 < ct < len(BIG) - 8:
    case("laz_chunk_table_count_huge", put(BIG, ct + 4, "<I", 0xFFFFFFF0))
case("laz_zeroed_points", BIG[: pdo(BIG) + 8] + bytes(len(BIG) - pdo(BIG) - 8), expect="data")
# --- no CRS: drop the VLRs of the LAS file (the point data offset stays)
case("no_crs", put(LAS, 100, "<I", 0), expect="warn")
# --- input lists
las_path = os.path.join(td, "laspy_file_with_both_wkt_and_geotiff_vlrs.las")
cases.append(("duplicate_same_path", "fail", [las_path, las_path]))
cases.append(("duplicate_other_spelling", "fail", [las_path, os.path.join(td, "isprs", "..", os.path.basename(las_path))]))
cases.append(("missing_file", "fail", [os.path.join(out, "does_not_exist.laz")]))
cases.append(("glob_no_match", "fail", [os.path.join(out, "nothing*.laz")]))

for name, expect, paths in cases:
    print(name, expect, *paths, sep="\t")
