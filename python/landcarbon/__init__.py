"""landcarbon: airborne LiDAR tiles to land carbon stocks and sinks, from Python.

The same engine as the ``landcarbon`` command line (a Rust crate), with numpy in and out::

    import landcarbon as lc
    cloud = lc.read("tile.laz")            # columns are numpy arrays over Rust buffers
    cloud = lc.ground(cloud)               # method="auto", as `landcarbon ground`
    dtm = lc.dtm(cloud, res=1.0)           # Raster: .array, .geotransform, .crs
    chm = lc.chm(lc.normalize(cloud))
    trees = lc.trees(cloud)                # pandas.DataFrame when pandas is installed
    run = lc.run("pipeline.toml")          # progress bar in a notebook; Ctrl-C cancels it

Parameters are the command line's flags with underscores (``cloth_resolution=0.5`` is
``--cloth-resolution 0.5``) and its defaults apply where a parameter is left out (``None``);
``config=PATH`` reads a TOML configuration as ``--config`` does, and ``threads``, ``quiet``,
``verbose`` are the global flags. Unknown names raise :class:`LandcarbonError` listing the
accepted ones. Errors raise :class:`LandcarbonError` with the CLI's message (file and fault).

``ground`` and ``normalize`` run in memory. The raster and table stages (``dtm``, ``chm``,
``trees``, ``metrics``, ``calibrate``, ``carbon``, ``account``, ``run``) run the CLI's own
command code in this process on files: a cloud given to them is first written to a temporary
LAZ file, outputs go to ``output`` (kept) or to a temporary folder (read back, then removed).
Long work runs with the GIL released. Ctrl-C cancels it: the engine starts no further chunk
and stops between a chunk's stages, the call waits for that (a second Ctrl-C stops waiting)
and raises KeyboardInterrupt; outputs are renamed into place only when complete, so none is
left half-written, and ``run`` resumes from the chunks that were complete.

``progress``: the catalog commands and ``run`` show chunks done / total and points read, with
``tqdm.auto`` when tqdm is installed (a widget in Jupyter) or else one updating line on
stderr. By default progress is shown when stderr is a terminal or in IPython/Jupyter;
``progress=False`` turns it off, ``progress=True`` on, and ``progress=callable`` calls
``callable(done, total, points)`` instead (from the calling thread, as steps complete).

Tables (``trees``, ``metrics`` per plot, ``account``, ``run``) are pandas DataFrames when
pandas is installed, else pyarrow Tables when pyarrow is, else dicts of numpy arrays;
``table_format="pandas" | "arrow" | "dict"`` chooses one.
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
from ._native import LandcarbonError, PointCloud, _active_jobs

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

_TABLE_FORMATS = ("pandas", "arrow", "dict")


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


def _table_format(table_format):
    """The table format to use: the one asked for (checked), else the first installed of
    pandas and pyarrow, else "dict"."""
    modules = {"pandas": "pandas", "arrow": "pyarrow.csv"}
    if table_format is None:
        for fmt in ("pandas", "arrow"):
            try:
                __import__(modules[fmt])
                return fmt
            except ImportError:
                pass
        return "dict"
    if table_format not in _TABLE_FORMATS:
        raise ValueError(f"table_format must be one of {', '.join(map(repr, _TABLE_FORMATS))}, not {table_format!r}")
    if table_format != "dict":
        try:
            __import__(modules[table_format])
        except ImportError:
            raise ImportError(
                f"table_format={table_format!r} needs {modules[table_format].split('.')[0]}, which is not installed"
            ) from None
    return table_format


def _table(path, table_format=None):
    """A CSV table as a pandas DataFrame, a pyarrow Table or a dict of numpy arrays (numeric
    columns as float64, others as str); see :func:`_table_format`."""
    fmt = _table_format(table_format)
    if fmt == "pandas":
        import pandas as pd

        return pd.read_csv(path)
    if fmt == "arrow":
        import pyarrow.csv

        return pyarrow.csv.read_csv(os.fspath(path))
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


def _interactive():
    """Whether progress is shown by default: stderr is a terminal, or IPython/Jupyter runs."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    ipython = sys.modules.get("IPython")
    try:
        return ipython is not None and ipython.get_ipython() is not None
    except Exception:
        return False


class _Display:
    """Progress on screen: a ``tqdm.auto`` bar (a widget in Jupyter) when tqdm is installed,
    else one line on stderr rewritten in place. Called as ``(label, done, total, points)``;
    a new label or total, or a count going back, starts a new bar."""

    def __init__(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm
        self._bar = None
        self._key = None
        self._done = 0
        self._line = False

    def __call__(self, label, done, total, points):
        key = (label, total)
        if key != self._key or done < self._done:
            self.close()
            self._key = key
            self._done = 0
            if self._tqdm is not None:
                self._bar = self._tqdm(total=total, desc=label, unit="step", dynamic_ncols=True)
        if self._bar is not None:
            self._bar.set_postfix_str(f"{points:,} points", refresh=False)
            self._bar.update(done - self._done)
        else:
            sys.stderr.write(f"\r{label}: {done}/{total} done, {points:,} points read")
            sys.stderr.flush()
            self._line = True
        self._done = done

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._line:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._line = False


@contextlib.contextmanager
def _progress(progress):
    """The native progress callback for ``progress`` (None: shown when interactive; False;
    True; or a callable taking (done, total, points)), closed when the call ends."""
    if progress is None:
        progress = _interactive()
    if progress is False:
        yield None
    elif progress is True:
        display = _Display()
        try:
            yield display
        finally:
            display.close()
    elif callable(progress):
        yield lambda label, done, total, points: progress(done, total, points)
    else:
        raise TypeError(f"progress must be None, True, False or a callable, not {type(progress).__name__}")


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


def cli(*args, progress=None) -> int:
    """Run ``landcarbon ARGS...`` in this process; 0 complete, 1 partial (failures reported as
    the CLI does). A fatal error raises LandcarbonError with the CLI's message. ``progress``:
    see the module's help (None: shown when interactive; False; True; callable(done, total,
    points)). Ctrl-C cancels the work and raises KeyboardInterrupt once it has stopped."""
    with _progress(progress) as callback:
        return _native.cli([os.fspath(a) for a in args], callback)


def _stage(command, positional, params, progress=None):
    return cli(command, *positional, *_flags(command, params), progress=progress)


def dtm(inputs, output=None, *, progress=None, **params) -> Raster:
    """Digital terrain model, as ``landcarbon dtm``: ``res`` (1 m), ``method`` (tin | idw),
    ``ground_classes``, ``chunk_size``, ``buffer``, ... Inputs: a cloud, paths or globs.
    ``output`` keeps the GeoTIFF there; returns the :class:`Raster`. ``progress``: chunks
    done (see the module's help)."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "dtm.tif")
        _stage("dtm", _catalog(inputs, tmp) + ["-o", out], params, progress)
        return _read_raster(out)


def chm(inputs, output=None, *, progress=None, **params) -> Raster:
    """Canopy height model, as ``landcarbon chm``: ``res``, ``method`` (p2r | pitfree),
    ``heights`` (where heights above ground come from), ... Returns the :class:`Raster`.
    ``progress``: chunks done (see the module's help)."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "chm.tif")
        _stage("chm", _catalog(inputs, tmp) + ["-o", out], params, progress)
        return _read_raster(out)


def trees(inputs, output=None, *, progress=None, table_format=None, **params):
    """Individual trees, as ``landcarbon trees``: ``detect`` (lmf), ``ws``, ``hmin``,
    ``segment``, ... ``output`` ending in ``.csv`` or ``.gpkg`` keeps the table there.
    Returns the tree table: a pandas DataFrame if pandas is installed, else a pyarrow Table if
    pyarrow is, else a dict of numpy arrays; ``table_format`` ("pandas" | "arrow" | "dict")
    chooses. ``progress``: chunks done (see the module's help)."""
    fmt = _table_format(table_format)  # checked before the work, not after
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "trees.csv")
        _stage("trees", _catalog(inputs, tmp) + ["-o", out], params, progress)
        table = out[: -len(".gpkg")] + ".csv" if out.lower().endswith(".gpkg") else out
        return _table(table, fmt)


def metrics(inputs, plots=None, grid=None, output=None, *, progress=None, table_format=None, **params):
    """Area-based metrics, as ``landcarbon metrics``, on heights above ground taken as ``chm`` and
    ``trees`` take them (``height="auto"``; ``height="z"`` for Z as is): per field plot
    (``plots=CSV``; returns the table, in ``table_format`` as for :func:`trees`) or on a grid
    (``grid=CELL_M``, 0 = the configured cell; returns a multi-band :class:`Raster`).
    ``progress``: tiles or chunks done (see the module's help)."""
    if (plots is None) == (grid is None):
        raise LandcarbonError("metrics: give plots=CSV or grid=CELL_M (one of them)")
    fmt = _table_format(table_format)
    with _workspace() as tmp:
        ext = ".csv" if plots is not None else ".tif"
        out = os.fspath(output) if output is not None else os.path.join(tmp, "metrics" + ext)
        _stage("metrics", _catalog(inputs, tmp) + ["-o", out], dict(params, plots=plots, grid=grid), progress)
        return _table(out, fmt) if plots is not None else _read_raster(out)


def calibrate(plots, output=None, *, progress=None, **params) -> dict:
    """Fit a plot-level biomass model, as ``landcarbon calibrate``: ``plots`` is the plot
    metrics table (CSV with the field response); ``model`` (form), ``response``,
    ``predictors``, ... Returns the model JSON as a dict (written to ``output`` if given)."""
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "model.json")
        _stage("calibrate", ["-o", out], dict(params, plots=plots), progress)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def carbon(metrics, model, output=None, *, progress=None, **params) -> dict:
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
        _stage("carbon", ["-o", out], dict(params, metrics=metrics, model=model), progress)
        return {
            name[:-4]: _read_raster(os.path.join(out, name))
            for name in sorted(os.listdir(out))
            if name.endswith(".tif")
        }


def account(output=None, *, progress=None, table_format=None, **params) -> dict:
    """Patch-level carbon accounting of two years, as ``landcarbon account``: ``patches_t1``,
    ``patches_t2``, ``density_t1``, ``plots_t1``, ..., or ``config=account.toml``. Returns a
    dict of table name (``F1_units``, ``F2_county``, ``F3_transitions``, ``uncertainty``,
    ``checks``, ``issues``) -> table (in ``table_format`` as for :func:`trees`); the whole
    output stays in ``output`` if given."""
    fmt = _table_format(table_format)
    with _workspace() as tmp:
        out = os.fspath(output) if output is not None else os.path.join(tmp, "account")
        _stage("account", [], dict(params, out=out), progress)
        return _tables(out, fmt)


def _tables(folder, table_format=None):
    return {
        name[:-4]: _table(os.path.join(folder, name), table_format)
        for name in sorted(os.listdir(folder))
        if name.endswith(".csv")
    }


def run(config, output=None, *, progress=None, table_format=None, **params) -> dict:
    """The whole chain, as ``landcarbon run``: ``config`` is a pipeline TOML path or a dict of
    the same keys. Returns ``{"output": folder, "tables": {name: table}, "complete": bool}``
    with the account tables (in ``table_format`` as for :func:`trees`) when the run made them;
    the output folder is ``output`` or the config's ``[run] output``.

    ``progress``: chunks done / total and points read (see the module's help). Ctrl-C cancels
    the run between chunks (or between a chunk's stages) and raises KeyboardInterrupt once it
    has stopped; running it again resumes from the complete chunks."""
    fmt = _table_format(table_format)
    with _workspace() as tmp:
        if isinstance(config, dict):
            path = os.path.join(tmp, "pipeline.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(_native.json_to_toml(json.dumps(config)))
            config = path
        args = [os.fspath(config)]
        if output is not None:
            args += ["-o", os.fspath(output)]
        code = _stage("run", args, params, progress)
        out = os.fspath(output) if output is not None else _configured_output(config)
    account_dir = os.path.join(out, "account") if out else None
    tables = _tables(account_dir, fmt) if account_dir and os.path.isdir(account_dir) else {}
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
    try:
        code = _native.main(["landcarbon"] + sys.argv[1:])
    except KeyboardInterrupt:
        # The work was cancelled and has stopped; the shell's code for SIGINT, no traceback.
        code = 130
    sys.exit(code)
