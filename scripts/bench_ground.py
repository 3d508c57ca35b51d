#!/usr/bin/env python3
"""Helper of scripts/bench-ground.sh: the official Cloth Simulation Filter (PyPI
`cloth-simulation-filter`, C++ core with OpenMP; threads via OMP_NUM_THREADS) on the same points
landcarbon classifies: the last and single returns of a LAS/LAZ file, official default
parameters.

  bench_ground.py filter FILE RUNS      time CSF.do_filtering alone (points already in memory);
                                        prints one line of JSON: {"points": n, "seconds": [...]}
  bench_ground.py pipeline IN OUT       read LAZ -> CSF -> classes (2 ground, 1 other) -> write LAZ
                                        (laspy + lazrs), the whole command a user would run
"""
import json
import os
import sys
import time

import CSF
import laspy
import numpy as np


def last_returns(las):
    rn = np.asarray(las.return_number)
    nr = np.asarray(las.number_of_returns)
    return (rn >= nr) | (rn == 0)


def run_csf(xyz):
    csf = CSF.CSF()  # official defaults: resolution 1, rigidness 3, dt 0.65, 500 it., slope smooth
    csf.setPointCloud(xyz)
    ground, off = CSF.VecInt(), CSF.VecInt()
    # The C++ core prints progress on stdout; keep it off ours.
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        csf.do_filtering(ground, off)
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)
    return np.asarray(ground, dtype=np.int64)


def main():
    mode = sys.argv[1]
    if mode == "filter":
        las = laspy.read(sys.argv[2])
        runs = int(sys.argv[3])
        m = last_returns(las)
        xyz = np.ascontiguousarray(np.vstack([las.x, las.y, las.z]).T[m])
        secs = []
        for _ in range(runs):
            t = time.perf_counter()
            run_csf(xyz)
            secs.append(time.perf_counter() - t)
        print(json.dumps({"points": int(len(xyz)), "seconds": secs}))
    elif mode == "pipeline":
        las = laspy.read(sys.argv[2])
        m = last_returns(las)
        idx = np.nonzero(m)[0]
        xyz = np.ascontiguousarray(np.vstack([las.x, las.y, las.z]).T[m])
        g = run_csf(xyz)
        cls = np.ones(len(las.points), dtype=np.uint8)
        cls[idx[g]] = 2
        las.classification = cls
        las.write(sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
