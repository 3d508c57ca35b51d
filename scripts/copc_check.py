"""Independent check of landcarbon's COPC output with laspy + lazrs (scripts/copc-roundtrip.sh).

  copc_check.py SOURCE.laz OUT.copc.laz PLAIN_FROM_COPC.laz

Checks, each failing with exit code 1:
  1. OUT read with laspy's CopcReader (every node through the hierarchy) holds the same points
     as SOURCE read with laspy (x, y, z, intensity, classification as multisets; the ground
     command only rewrites classes, so classes are compared to OUT's plain read);
  2. boxes (a 30 m buffer strip along each edge and a central square) queried through the
     octree equal a brute-force filter of laspy's plain read of OUT;
  3. PLAIN_FROM_COPC (a .laz that landcarbon wrote from the COPC file) is readable by laspy,
     has all the points and no COPC record.
Prints the figures: points, nodes, levels, sizes, and the time of a strip query vs a full decode.
"""
import sys
import time

import laspy
import numpy as np
from laspy import Bounds, CopcReader


def keyed(x, y, z, i):
    a = np.stack([np.round(np.asarray(x) * 1000), np.round(np.asarray(y) * 1000),
                  np.round(np.asarray(z) * 1000), np.asarray(i, dtype=np.float64)])
    order = np.lexsort(a[::-1])
    return a[:, order]


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def main():
    src, out, plain_out = sys.argv[1:4]
    source = laspy.read(src)
    with CopcReader.open(out) as r:
        hdr = r.header
        t = time.perf_counter()
        allq = r.query()
        t_all = time.perf_counter() - t
    n = len(source.points)
    if hdr.version.minor != 4 or hdr.point_format.id not in (6, 7, 8):
        fail(f"{out}: LAS {hdr.version}, point format {hdr.point_format.id}")
    if len(allq) != n:
        fail(f"{out}: CopcReader finds {len(allq)} points, the source has {n}")
    a = keyed(source.x, source.y, source.z, source.intensity)
    b = keyed(allq.x, allq.y, allq.z, allq.intensity)
    if not np.array_equal(a, b):
        fail(f"{out}: the COPC points differ from the source's")
    plain = laspy.read(out)
    if len(plain.points) != n:
        fail(f"{out}: plain read finds {len(plain.points)} points")
    c1 = keyed(plain.x, plain.y, plain.z, plain.classification)
    c2 = keyed(allq.x, allq.y, allq.z, allq.classification)
    if not np.array_equal(c1, c2):
        fail(f"{out}: CopcReader and the plain read disagree on classes")
    if not any(v.record_id == 2112 for v in plain.header.vlrs):
        fail(f"{out}: no WKT CRS VLR")

    x, y = np.asarray(plain.x), np.asarray(plain.y)
    mn, mx = hdr.mins, hdr.maxs
    w = 30.0
    cx, cy = (mn[0] + mx[0]) / 2, (mn[1] + mx[1]) / 2
    boxes = {
        "west strip": ([mn[0], mn[1]], [mn[0] + w, mx[1]]),
        "east strip": ([mx[0] - w, mn[1]], [mx[0], mx[1]]),
        "south strip": ([mn[0], mn[1]], [mx[0], mn[1] + w]),
        "north strip": ([mn[0], mx[1] - w], [mx[0], mx[1]]),
        "centre 50 m": ([cx - 25, cy - 25], [cx + 25, cy + 25]),
    }
    # laspy converts a query box to integer coordinates: edges on the file's grid make its
    # box and the brute-force filter's the same.
    def snap(v):
        return hdr.offsets[:2] + np.round((np.asarray(v) - hdr.offsets[:2]) / hdr.scales[:2]) * hdr.scales[:2]

    boxes = {k: (snap(lo), snap(hi)) for k, (lo, hi) in boxes.items()}
    times = []
    for name, (lo, hi) in boxes.items():
        with CopcReader.open(out) as r:
            t = time.perf_counter()
            q = r.spatial_query(Bounds(mins=np.array(lo), maxs=np.array(hi)))
            times.append(time.perf_counter() - t)
        m = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
        brute = keyed(x[m], y[m], np.asarray(plain.z)[m], np.asarray(plain.intensity)[m])
        got = keyed(q.x, q.y, q.z, q.intensity)
        if not np.array_equal(brute, got):
            fail(f"{out}: {name}: the octree query returns {len(q)} points, brute force {m.sum()}")
        print(f"  {name}: {len(q)} points = brute force")

    p = laspy.read(plain_out)
    if len(p.points) != n:
        fail(f"{plain_out}: {len(p.points)} points, expected {n}")
    copc_recs = [(v.user_id, v.record_id) for v in list(p.header.vlrs) + list(p.header.evlrs)
                 if v.user_id.strip("\0") == "copc"]
    if copc_recs:
        fail(f"{plain_out}: carries COPC records {copc_recs}")
    try:
        with CopcReader.open(plain_out):
            fail(f"{plain_out}: CopcReader opens a non-COPC file")
    except laspy.errors.LaspyException:
        pass
    import os
    print(f"points {n}; COPC {os.path.getsize(out)} bytes (source {os.path.getsize(src)}, "
          f"plain LAZ from it {os.path.getsize(plain_out)}); "
          f"CopcReader: full decode {t_all:.3f} s, the four 30 m strip queries "
          f"{min(times[:4]):.3f}-{max(times[:4]):.3f} s")
    print("OK copc round trip")


if __name__ == "__main__":
    main()
