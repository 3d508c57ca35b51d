"""Our DTM sampled (bilinear) at the provider's ground points of a tile: RMSE and bias of
DTM − point elevation. The provider's class 2 is sparse but each point is true ground, so this
checks the DTM where the reference is known, not where the provider's own DTM interpolates
across gaps. Prints "RMSE BIAS N". Needs gdal_translate (gdal-bin), numpy and laspy.

Usage: python3 scripts/dtm_at_points.py TILE.laz DTM.tif
"""
import subprocess
import sys
import tempfile

import laspy
import numpy as np

tile, tif = sys.argv[1], sys.argv[2]
with tempfile.NamedTemporaryFile(suffix=".xyz") as tmp:
    subprocess.run(["gdal_translate", "-q", "-of", "XYZ", tif, tmp.name], check=True)
    a = np.loadtxt(tmp.name)
xs, ys = np.unique(a[:, 0]), np.unique(a[:, 1])
res = xs[1] - xs[0]
grid = np.full((len(ys), len(xs)), np.nan)
v = a[:, 2].copy()
v[(v == -9999) | (np.abs(v) > 1e6)] = np.nan
grid[np.round((a[:, 1] - ys[0]) / res).astype(int), np.round((a[:, 0] - xs[0]) / res).astype(int)] = v

las = laspy.read(tile)
g = np.asarray(las.classification) == 2
fx = (np.asarray(las.x)[g] - xs[0]) / res
fy = (np.asarray(las.y)[g] - ys[0]) / res
pz = np.asarray(las.z)[g]
c0, r0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
inside = (c0 >= 0) & (r0 >= 0) & (c0 < len(xs) - 1) & (r0 < len(ys) - 1)
c0, r0, pz = c0[inside], r0[inside], pz[inside]
tx, ty = fx[inside] - c0, fy[inside] - r0
z = (grid[r0, c0] * (1 - tx) * (1 - ty) + grid[r0, c0 + 1] * tx * (1 - ty)
     + grid[r0 + 1, c0] * (1 - tx) * ty + grid[r0 + 1, c0 + 1] * tx * ty)
ok = np.isfinite(z)
d = z[ok] - pz[ok]
print("%.4f %+.4f %d" % (np.sqrt((d ** 2).mean()), d.mean(), ok.sum()))
