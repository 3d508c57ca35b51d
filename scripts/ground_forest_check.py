#!/usr/bin/env python3
"""Sanity check of a ground classification against a provider's ground class on forest tiles,
where the provider's class 2 is only a subset of the true ground (so Type II cannot be judged):

* recall: the share of the provider's ground points that the classification also calls ground;
* median |dz|: median vertical distance of the provider's ground points to a DTM made from the
  classification's ground points (TIN, linear, sampled on a 1 m grid and read bilinearly);
* DTM RMSE / bias / max: 1 m TIN DTMs from both ground sets, over the cells inside both hulls
  (a quick stand-in for `landcarbon eval dtm`).

Usage: ground_forest_check.py REFERENCE.laz CLASSIFIED.laz [LOWEST_CELL_M]
(same points, same order). With LOWEST_CELL_M, the DTM from the classification uses only the
lowest ground point of each cell of that size: the provider ground of the lasR/lidR tiles is
itself (85-100 %) the lowest point per 0.5 m cell, i.e. a lower envelope.
Needs numpy, scipy, laspy, lazrs.
"""
import sys

import laspy
import numpy as np
from scipy.interpolate import LinearNDInterpolator, RegularGridInterpolator


def dtm(x, y, z, gx, gy):
    tin = LinearNDInterpolator(np.c_[x, y], z)
    GX, GY = np.meshgrid(gx, gy)
    return tin(GX, GY)


def main():
    ref = laspy.read(sys.argv[1])
    out = laspy.read(sys.argv[2])
    if len(ref.points) != len(out.points):
        sys.exit("the files hold different numbers of points")
    x, y, z = np.asarray(ref.x), np.asarray(ref.y), np.asarray(ref.z)
    rg = np.asarray(ref.classification) == 2
    og = np.asarray(out.classification) == 2
    if len(sys.argv) > 3:
        c = float(sys.argv[3])
        key = ((y - y.min()) // c).astype(np.int64) * 10_000_000 + ((x - x.min()) // c).astype(np.int64)
        idx = np.nonzero(og)[0]
        order = idx[np.lexsort((z[idx], key[idx]))]
        k = key[order]
        first = np.r_[True, k[1:] != k[:-1]]
        og_dtm = np.zeros_like(og)
        og_dtm[order[first]] = True
    else:
        og_dtm = og
    gx = np.arange(np.floor(x.min()) + 0.5, x.max(), 1.0)
    gy = np.arange(np.floor(y.min()) + 0.5, y.max(), 1.0)
    ours = dtm(x[og_dtm], y[og_dtm], z[og_dtm], gx, gy)
    theirs = dtm(x[rg], y[rg], z[rg], gx, gy)
    interp = RegularGridInterpolator((gy, gx), ours, bounds_error=False, fill_value=np.nan)
    dz = np.abs(z[rg] - interp(np.c_[y[rg], x[rg]]))
    dz = dz[np.isfinite(dz)]
    both = np.isfinite(ours) & np.isfinite(theirs)
    d = (ours - theirs)[both]
    print(
        f"points {len(x)}  provider ground {rg.sum()}  ours {og.sum()}  "
        f"recall {100 * (rg & og).sum() / max(rg.sum(), 1):.1f} %  "
        f"median |dz| {np.median(dz):.3f} m  p95 |dz| {np.percentile(dz, 95):.3f} m  "
        f"DTM 1 m: cells {both.sum()}  RMSE {np.sqrt(np.mean(d ** 2)):.3f} m  "
        f"bias {d.mean():+.3f} m  max {np.abs(d).max():.2f} m"
    )


if __name__ == "__main__":
    main()
