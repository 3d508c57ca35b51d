#!/usr/bin/env python3
"""Density sensitivity of tree detection on Chablais 3: thin the points at random to a few
densities (pts/m2 over the tile) and score each with `landcarbon eval trees`, for the default
pit-free detection CHM and for a p2r(0.15) CHM.

Needs laspy and lazrs (pip install laspy lazrs); measurement only, not used by the engine.
Usage: scripts/trees_thinning.py [path/to/landcarbon]
"""
import os, subprocess, sys, tempfile
import numpy as np
import laspy

B = sys.argv[1] if len(sys.argv) > 1 else "target/release/landcarbon"
R = os.environ.get("LANDCARBON_SHARED", "../shared/testdata/real")
las = laspy.read(os.path.join(R, "lidaRtRee_las_chablais3.laz"))
inv = os.path.join(R, "lidaRtRee_tree_inventory_chablais3.csv")
area = (las.header.x_max - las.header.x_min) * (las.header.y_max - las.header.y_min)
n = len(las.points)
rng = np.random.default_rng(1)
with tempfile.TemporaryDirectory() as d:
    for target in [None, 6.0, 3.0, 1.5]:
        if target is None:
            path, dens = os.path.join(R, "lidaRtRee_las_chablais3.laz"), n / area
        else:
            keep = rng.random(n) < target / (n / area)
            out = laspy.LasData(las.header)
            out.points = las.points[keep]
            path = os.path.join(d, f"thin_{target}.laz")
            out.write(path)
            dens = keep.sum() / area
        for name, flags in [("pitfree (default)", []), ("p2r 0.15", ["--method", "p2r", "--subcircle", "0.15"])]:
            t = os.path.join(d, "t.csv")
            subprocess.run([B, "-q", "trees", path, "-o", t] + flags, check=True)
            r = subprocess.run([B, "eval", "trees", "--reference", inv, "--detected", t],
                               check=True, capture_output=True, text=True).stdout.splitlines()
            print(f"{dens:5.1f} pts/m2  {name:18s} all: {r[-2][23:]}")
            print(f"{'':25s} above cut: {r[-1][23:]}")
