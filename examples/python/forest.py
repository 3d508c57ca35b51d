"""Notebook-style example: a real forest tile to ground, canopy height model and trees, plotted.

    python examples/python/forest.py [TILE.laz] [OUT.png]

Default tile: lidR's MixedConifer sample of the shared real-data set when present, else the
bundled IGN LiDAR HD crop. Needs the landcarbon wheel and matplotlib (scripts/test-python.sh
installs both into target/py-test-venv).
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import landcarbon as lc

repo = Path(__file__).resolve().parents[2]
shared = Path(os.environ.get("LANDCARBON_SHARED", repo.parent / "shared" / "testdata" / "real"))
default = shared / "lidR_MixedConifer.laz"
if not default.is_file():
    default = repo / "testdata" / "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"
tile = Path(sys.argv[1]) if len(sys.argv) > 1 else default
png = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("forest.png")

cloud = lc.read(tile)  # numpy columns over the Rust buffers
print(cloud)
cloud, report = lc.ground(cloud, return_report=True)  # method="auto", as `landcarbon ground`
print(f"ground: {report['n_ground']} of {report['n_points']} points ({report['method']})")
heights = lc.normalize(cloud)  # height above ground as Z
chm = lc.chm(heights)  # Raster: .array, .geotransform, .crs
trees = lc.trees(heights)  # pandas.DataFrame when pandas is installed
print(f"CHM {chm.shape[0]} x {chm.shape[1]} cells; {len(trees)} trees")

x0, res, _, y1, _, _ = chm.geotransform
extent = (x0, x0 + res * chm.shape[1], y1 - res * chm.shape[0], y1)
canopy = np.where(chm.array == chm.nodata, np.nan, chm.array)
cols = {c.lower(): c for c in trees.columns}
fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5.5))
im = a.imshow(canopy, extent=extent, cmap="viridis")
fig.colorbar(im, ax=a, label="canopy height (m)")
a.scatter(trees[cols["x"]], trees[cols["y"]], s=4, c="red", label="tree tops")
a.set_title(f"CHM and {len(trees)} trees: {tile.name}")
a.legend(loc="lower right")
h = next(c for k, c in cols.items() if k.startswith("h") or "height" in k)
b.hist(trees[h], bins=30, color="forestgreen")
b.set_xlabel(f"tree height ({h})")
b.set_ylabel("trees")
fig.tight_layout()
fig.savefig(png, dpi=110)
print(f"wrote {png}")
