"""landcarbon: airborne LiDAR tiles to land carbon stocks and sinks, from Python.

The same engine as the ``landcarbon`` command line (a Rust crate), with numpy in and out::

    import landcarbon as lc
    cloud = lc.read("tile.laz")            # columns are numpy arrays over Rust buffers
    cloud = lc.ground(cloud)               # method="auto", as `landcarbon ground`
    dtm = lc.dtm(cloud, res=1.0)           # Raster: .array, .geotransform, .crs
    chm = lc.chm(lc.normalize(cloud))
    trees = lc.trees(cloud)                # pandas.DataFrame when pandas is installed

Parameters are the command line's flags with underscores (``cloth_resolution=0.5`` is
``--cloth-resolution 0.5``) and its defaults apply where a parameter is left out (``None``);
``config=PATH`` reads a TOML configuration as ``--config`` does, and ``threads``, ``quiet``,
``verbose`` are the global flags. Unknown names raise :class:`LandcarbonError` listing the
accepted ones. Errors raise :class:`LandcarbonError` with the CLI's message (file and fault).

``ground`` and ``normalize`` run in memory. The raster and table stages (``dtm``, ``chm``,
``trees``, ``metrics``, ``calibrate``, ``carbon``, ``account``, ``run``) run the CLI's own
command code in this process on files: a cloud given to them is first written to a temporary
LAZ file, outputs go to ``output`` (kept) or to a temporary folder (read back, then removed).
Long work runs with the GIL released; Ctrl-C returns at once (the work already started
finishes in the background; outputs are renamed into place only when complete).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sys
import tempfile

from . import _native
from ._native import LandcarbonError, PointCloud

__version__ = _native.__version__

__all__ = [
    "LandcarbonError",
    "PointCloud",
    "Raster",
    "read",
    "write",
    "ground",
    "dtm",
    "normalize",
    "chm",
    "trees",
    "metrics",
    "calibrate",
    "carbon",
    "account",
    "run",
    "cli",
]


def _paths(inputs):
    """A list of path strings from a path, an os.PathLike or a sequence of them."""
    if isinstance(inputs, (str, os.PathLike)):
        return [os.fspath(inputs)]
    try:
        return [os.fspath(p) for p in inputs]
    except TypeError:
        raise TypeError(
            f"inputs must be a path, a list of paths or a PointCloud, not {type(inputs).__name__}"
        ) from None


def read(path_or_paths, bounds=None) -> PointCloud:
    """Read LAS/LAZ files (paths, folders, glob patterns, input lists or .vpc files) into one :class:`PointCloud`.

    ``bounds=(xmin, ymin, xmax, ymax)`` keeps only the points inside (edges included).
    The columns (``x``, ``y``, ``z``, ``classification``, ``intensity``, ``return_number``, ...)
    are read-only numpy arrays that share memory with the cloud.
    """
    return _native.read(_paths(path_or_paths), None if bounds is None else [float(b) for b in bounds])


def write(cloud: PointCloud, path) -> None:
    """Write ``cloud`` to a ``.las`` or ``.laz`` file, keeping every attribute."""
    _native.write(cloud, os.fspath(path))


def _flags(command, params):
    return _native.flags(command, params)


def ground(cloud: PointCloud, method=None, *, return_report=False, **params):
    """Classify ground (2), noise (7) and the rest (1), as ``landcarbon ground`` on one tile.

    ``method``: ``"auto"`` (default), ``"csf"`` or ``"smrf"``; other parameters are the flags of
    ``landcarbon ground`` (``noise``, ``all_returns``, ``keep_classes``, ``cloth_resolution``,
    ``rigidness``, ``cell``, ``slope``, ``window``, ``threshold``, ``scalar``, ...).
    Returns a new cloud (and the filter's report as a dict with ``return_report=True``).
    """
    out, report = _native.ground(cloud, _flags("ground", dict(params, method=method)))
    return (out, report) if return_report else out


def normalize(cloud: PointCloud, **params) -> PointCloud:
    """Heights above ground, as ``landcarbon normalize`` on one tile.

    From the cloud's ground points (``method="tin"`` by default, or ``"idw"``,
    ``ground_classes``) or from a DTM GeoTIFF (``dtm=PATH``); as Z (default) or as the
    extra-bytes dimension ``HeightAboveGround`` (``as_extra_bytes=True``). Returns a new cloud.
    """
    return _native.normalize(cloud, _flags("normalize", params))


class Raster:
    """A raster read back from a GeoTIFF: bands as float64 arrays on one grid.

    ``array`` is the first band; ``bands`` maps band names to arrays; ``geotransform`` is GDAL's
    (x_min, res, 0, y_max, 0, -res); ``crs`` is ``EPSG:n`` or WKT (or None); ``nodata``.
    """

    def __init__(self, bands, geotransform, crs, nodata, path=None):
        self.bands = dict(bands)
        self.geotransform = tuple(geotransform)
        self.crs = crs
        self.nodata = nodata
        self.path = path

    @property
    def array(self):
        return next(iter(self.bands.values()))

    @property
    def shape(self):
        return self.array.shape

    def profile(self) -> dict:
        """A rasterio-style profile (``transform`` an ``affine.Affine`` when affine is installed)."""
        gt = self.geotransform
        try:
            from affine import Affine

            transform = Affine.from_gdal(*gt)
        except ImportError:
            transform = gt
        return {
            "driver": "GTiff",
            "dtype": "float64",
            "width": self.shape[1],
            "height": self.shape[0],
            "count": len(self.bands),
            "crs": self.crs,
            "transform": transform,
            "nodata": self.nodata,
        }

    def __repr__(self):
        return f"Raster({self.shape[0]} x {self.shape[1]} cells, res {self.geotransform[1]}, bands {list(self.bands)}, crs {self.crs})"


def _read_raster(path) -> Raster:
    bands, gt, crs, nodata = _native.read_raster(os.fspath(path))
    return Raster(bands, gt, crs, nodata, os.fspath(path))


def _table(path):
    """A CSV table as a pandas DataFrame when pandas is installed, else a dict of numpy arrays
    (numeric columns as float64, others as str)."""
    try:
        import pandas as pd

        return pd.read_csv(path)
    except ImportError:
        pass
    import numpy as np

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    out = {}
    for i, name in enumerate(header):
        col = [r[i] if i < len(r) else "" for r in body]
        try:
            out[name] = np.array([float(v) if v != "" else np.nan for v in col], dtype=np.float64)
        except ValueError:
            out[name] = np.array(col, dtype=str)
    return out


@contextlib.contextmanager
def _workspace():
    d = tempfile.mkdtemp(prefix="landcarbon-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _catalog(inputs, tmp):
    """Input paths for a catalog command: a cloud is written to a LAZ file in ``tmp`` first."""
    if isinstance(inputs, PointCloud):
        p = os.path.join(tmp, "cloud.laz")
        write(inputs, p)
        return [p]
    return _paths(inputs)


def cli(*args) -> int:
    """Run ``landcarbon ARGS...`` in this process; 0 complete, 1 partial (failures reported as
    the CLI does). A fatal error raises LandcarbonError with the CLI's message."""
    return _native.cli([os.fspath(a) for a in args])


def _stage(command, positional, params):
    return cli(command, *positional, *_flags(command, params))


def dtm(inputs, output=None, **params) -> Raster:
    """Digital terrain model, as ``landcarbon dtm``: ``res`` (1 m), ``method`` (tin | idw),
    ``ground_classes``, ``chunk_size``, ``buffer``, ... Inputs: a cloud, paths or globs.
    ``output`` keeps the GeoTIFF there; returns the :class:`Raster`."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "dtm.tif")
        _stage("dtm", _catalog(inputs, tmp) + ["-o", out], params)
        return _read_raster(out)


def chm(inputs, output=None, **params) -> Raster:
    """Canopy height model, as ``landcarbon chm``: ``res``, ``method`` (p2r | pitfree),
    ``heights`` (where heights above ground come from), ... Returns the :class:`Raster`."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "chm.tif")
        _stage("chm", _catalog(inputs, tmp) + ["-o", out], params)
        return _read_raster(out)


def trees(inputs, output=None, **params):
    """Individual trees, as ``landcarbon trees``: ``detect`` (lmf), ``ws``, ``hmin``,
    ``segment``, ... ``output`` ending in ``.csv`` or ``.gpkg`` keeps the table there.
    Returns the tree table (pandas DataFrame if installed, else a dict of numpy arrays)."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "trees.csv")
        _stage("trees", _catalog(inputs, tmp) + ["-o", out], params)
        table = out[: -len(".gpkg")] + ".csv" if out.lower().endswith(".gpkg") else out
        return _table(table)


def metrics(inputs, plots=None, grid=None, output=None, **params):
    """Area-based metrics, as ``landcarbon metrics``, on heights above ground taken as ``chm`` and
    ``trees`` take them (``height="auto"``; ``height="z"`` for Z as is): per field plot
    (``plots=CSV``; returns the table) or on a grid (``grid=CELL_M``, 0 = the configured cell;
    returns a multi-band :class:`Raster`)."""
    if (plots is None) == (grid is None):
        raise LandcarbonError("metrics: give plots=CSV or grid=CELL_M (one of them)")
    with _workspace() as tmp:
        ext = ".csv" if plots is not None else ".tif"
        out = os.fspath(output) if output is not None else os.path.join(tmp, "metrics" + ext)
        _stage("metrics", _catalog(inputs, tmp) + ["-o", out], dict(params, plots=plots, grid=grid))
        return _table(out) if plots is not None else _read_raster(out)


def calibrate(plots, output=None, **params) -> dict:
    """Fit a plot-level biomass model, as ``landcarbon calibrate``: ``plots`` is the plot
    metrics table (CSV with the field response); ``model`` (form), ``response``,
    ``predictors``, ... Returns the model JSON as a dict (written to ``output`` if given)."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "model.json")
        _stage("calibrate", ["-o", out], dict(params, plots=plots))
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def carbon(metrics, model, output=None, **params) -> dict:
    """Carbon density per pool, as ``landcarbon carbon``: ``metrics`` is a grid-metrics
    GeoTIFF, ``model`` a model JSON path (or the dict from :func:`calibrate`). Returns a dict
    of pool name -> :class:`Raster` (written to the ``output`` folder if given)."""
    with _workspace() as tmp:
        if isinstance(model, dict):
            p = os.path.join(tmp, "model-in.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(model, f)
            model = p
        out = os.fspath(output) if output is not None else os.path.join(tmp, "carbon")
        _stage("carbon", ["-o", out], dict(params, metrics=metrics, model=model))
        return {
            name[:-4]: _read_raster(os.path.join(out, name))
            for name in sorted(os.listdir(out))
            if name.endswith(".tif")
        }


def account(output=None, **params) -> dict:
    """Patch-level carbon accounting of two years, as ``landcarbon account``: ``patches_t1``,
    ``patches_t2``, ``density_t1``, ``plots_t1``, ..., or ``config=account.toml``. Returns a
    dict of table name (``F1_units``, ``F2_county``, ``F3_transitions``, ``uncertainty``,
    ``checks``, ``issues``) -> table; the whole output stays in ``output`` if given."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "account")
        _stage("account", [], dict(params, out=out))
        return _tables(out)


def _tables(folder):
    return {
        name[:-4]: _table(os.path.join(folder, name))
        for name in sorted(os.listdir(folder))
        if name.endswith(".csv")
    }


def run(config, output=None, **params) -> dict:
    """The whole chain, as ``landcarbon run``: ``config`` is a pipeline TOML path or a dict of
    the same keys. Returns ``{"output": folder, "tables": {name: table}}`` with the account
    tables when the run made them; the output folder is ``output`` or the config's
    ``[run] output``."""
    with _workspace() as tmp:
        if isinstance(config, dict):
            path = os.path.join(tmp, "pipeline.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(_native.json_to_toml(json.dumps(config)))
            config = path
        args = [os.fspath(config)]
        if output is not None:
            args += ["-o", os.fspath(output)]
        code = _stage("run", args, params)
        out = os.fspath(output) if output is not None else _configured_output(config)
    account_dir = os.path.join(out, "account") if out else None
    tables = _tables(account_dir) if account_dir and os.path.isdir(account_dir) else {}
    return {"output": out, "tables": tables, "complete": code == 0}


def _configured_output(config):
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return None
    try:
        with open(config, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, ValueError):
        return None
    out = doc.get("run", {}).get("output")
    if out is None:
        return None
    return out if os.path.isabs(out) else os.path.join(os.path.dirname(os.path.abspath(config)), out)


def _console() -> None:
    """The ``landcarbon`` console script installed with the wheel."""
    sys.exit(_native.main(["landcarbon"] + sys.argv[1:]))
