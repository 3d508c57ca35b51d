"""The landcarbon Python API against the Rust CLI on the same files: each function, the
zero-copy columns, errors naming the file."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import landcarbon as lc
from conftest import EXTRA, IGNF, ISPRS, REPO, real


def info(run_cli, path):
    return json.loads(run_cli("info", "--json", path).stdout)["files"][0]


# --- read, columns, zero copy -------------------------------------------------------------


def test_read_matches_cli_info(run_cli):
    cloud = lc.read(IGNF)
    meta = info(run_cli, IGNF)
    assert len(cloud) == meta["n_points"] == 84524
    assert cloud.point_format == meta["point_format"] == 8
    assert cloud.version == meta["version"]
    assert cloud.epsg == 2154 and cloud.crs == "EPSG:2154" == meta["crs_text"]
    b = meta["bounds"]
    # Header bounds are rounded to the scale (0.01 m); the points lie within them.
    assert np.allclose(cloud.bounds, b, atol=0.01)
    classes = {str(k): int(v) for k, v in zip(*np.unique(cloud.classification, return_counts=True))}
    assert classes == meta["classes"]
    returns = {str(k): int(v) for k, v in zip(*np.unique(cloud.return_number, return_counts=True))}
    assert returns == meta["returns"]
    assert cloud.x.dtype == np.float64 and cloud.intensity.dtype == np.uint16
    assert cloud.classification.dtype == np.uint8 and cloud.scan_angle_deg.dtype == np.float32
    assert cloud.rgb.shape == (len(cloud), 3) and cloud.rgb.dtype == np.uint16
    assert cloud.nir is not None and cloud.gps_time is not None
    assert "84524 points" in repr(cloud)


def test_columns_are_zero_copy_views_of_the_cloud():
    cloud = lc.read(IGNF)
    for name in ["x", "y", "z", "classification", "intensity", "return_number", "gps_time", "rgb"]:
        a, b = getattr(cloud, name), getattr(cloud, name)
        # Two accesses give two array objects on the same Rust buffer: no copy was made.
        assert a is not b
        assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0], name
        assert np.shares_memory(a, b), name
        assert not a.flags.writeable and not a.flags.owndata, name
    x = cloud.x
    with pytest.raises(ValueError):
        x[0] = 0.0
    # The array keeps the cloud alive: dropping the cloud leaves the data valid.
    expected = float(x.sum())
    del cloud
    gc.collect()
    assert float(x.sum()) == expected


def test_read_bounds_and_several_files():
    full = lc.read(IGNF)
    x0, y0, _, x1, y1, _ = full.bounds
    bx = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    part = lc.read(IGNF, bounds=bx)
    inside = (full.x >= bx[0]) & (full.x <= bx[2]) & (full.y >= bx[1]) & (full.y <= bx[3])
    assert 0 < len(part) == int(inside.sum()) < len(full)
    assert np.array_equal(part.z, full.z[inside])
    two = lc.read([ISPRS, TESTDATA_ISPRS(12)])
    assert len(two) == len(lc.read(ISPRS)) + len(lc.read(TESTDATA_ISPRS(12)))


def TESTDATA_ISPRS(n):
    return REPO / "testdata" / "isprs" / f"samp{n}-utm.laz"


def test_extra_bytes(run_cli):
    cloud = lc.read(EXTRA)
    assert len(cloud.extra_dims) >= 1
    meta = info(run_cli, EXTRA)
    assert cloud.extra_bytes.shape == (len(cloud), meta["extra_bytes"])
    for name in cloud.extra_dims:
        assert len(cloud.extra(name)) == len(cloud)
    with pytest.raises(lc.LandcarbonError, match="no extra-bytes dimension 'Nope'"):
        cloud.extra("Nope")


def test_write_round_trip(tmp_path):
    cloud = lc.read(EXTRA)
    out = tmp_path / "copy.laz"
    lc.write(cloud, out)
    back = lc.read(out)
    for name in ["x", "y", "z", "intensity", "classification", "return_number", "gps_time",
                 "rgb", "nir", "point_source_id", "extra_bytes"]:
        assert np.array_equal(getattr(back, name), getattr(cloud, name)), name
    assert back.extra_dims == cloud.extra_dims and back.epsg == cloud.epsg


def test_bad_file_raises_with_the_file_name(tmp_path):
    bad = tmp_path / "broken.laz"
    bad.write_bytes(b"LASF" + b"\0" * 50)
    with pytest.raises(lc.LandcarbonError) as e:
        lc.read(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(lc.LandcarbonError, match="missing.laz"):
        lc.read(tmp_path / "missing.laz")
    # The CLI says the same.
    r = subprocess.run([os.environ.get("LANDCARBON_CLI", REPO / "target/release/landcarbon"),
                        "info", str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and str(bad) in r.stderr


# --- ground, dtm, normalize: identical to the CLI on the same file --------------------------


def test_ground_equals_cli(tmp_path, run_cli):
    out = tmp_path / "ground.laz"
    run_cli("ground", ISPRS, "-o", out)
    cli_cls = lc.read(out).classification
    g, report = lc.ground(lc.read(ISPRS), return_report=True)
    assert np.array_equal(g.classification, cli_cls)
    assert report["n_ground"] == int((cli_cls == 2).sum()) > 0
    assert report["method"].startswith("auto")
    # A parameter of another method: the CLI's message, with Python's name mapping.
    with pytest.raises(lc.LandcarbonError, match="--cloth-resolution is a parameter of csf"):
        lc.ground(g, cloth_resolution=0.5)
    with pytest.raises(lc.LandcarbonError, match="unknown parameter 'clothres'.*cloth_resolution"):
        lc.ground(g, clothres=0.5)


def test_ground_csf_with_parameters_equals_cli(tmp_path, run_cli):
    out = tmp_path / "csf.laz"
    run_cli("ground", ISPRS, "-o", out, "--method", "csf", "--cloth-resolution", "2", "--noise", "none")
    g = lc.ground(lc.read(ISPRS), method="csf", cloth_resolution=2, noise="none")
    assert np.array_equal(g.classification, lc.read(out).classification)


@pytest.fixture(scope="module")
def ground_tile(tmp_path_factory):
    d = tmp_path_factory.mktemp("ground")
    g = lc.ground(lc.read(IGNF))
    p = d / "ground.laz"
    lc.write(g, p)
    return g, p


def test_dtm_equals_cli(tmp_path, run_cli, ground_tile):
    g, p = ground_tile
    run_cli("dtm", p, "-o", tmp_path / "cli.tif", "--res", "2")
    want = lc._read_raster(tmp_path / "cli.tif")
    got = lc.dtm(g, res=2)
    assert got.shape == want.shape and got.geotransform == want.geotransform
    assert np.array_equal(got.array, want.array)
    assert got.geotransform[1] == 2.0 and got.crs == "EPSG:2154"
    valid = got.array != got.nodata
    assert valid.mean() > 0.9
    z = g.z[g.classification == 2]
    assert z.min() - 1 < got.array[valid].min() and got.array[valid].max() < z.max() + 1
    assert got.profile()["width"] == got.shape[1]


def test_normalize_equals_cli(tmp_path, run_cli, ground_tile):
    g, p = ground_tile
    run_cli("normalize", p, "-o", tmp_path / "cli.laz")
    n = lc.normalize(g)
    lc.write(n, tmp_path / "py.laz")
    assert np.array_equal(lc.read(tmp_path / "py.laz").z, lc.read(tmp_path / "cli.laz").z)
    assert abs(np.median(n.z[g.classification == 2])) < 0.05
    e = lc.normalize(g, as_extra_bytes=True)
    assert "HeightAboveGround" in e.extra_dims and np.array_equal(e.z, g.z)
    with pytest.raises(lc.LandcarbonError, match="no ground point"):
        lc.normalize(lc.read(IGNF).with_classification(bytes(len(g))))


def test_chm_and_trees_equal_cli(tmp_path, run_cli, ground_tile):
    g, p = ground_tile
    run_cli("chm", p, "-o", tmp_path / "chm.tif")
    chm = lc.chm(g)
    assert np.array_equal(chm.array, lc._read_raster(tmp_path / "chm.tif").array)
    assert chm.array.max() > 2
    run_cli("trees", p, "-o", tmp_path / "trees.csv")
    t = lc.trees(p)
    import pandas as pd

    want = pd.read_csv(tmp_path / "trees.csv")
    assert isinstance(t, pd.DataFrame) and len(t) == len(want) > 0
    pd.testing.assert_frame_equal(t, want)


def test_trees_real_mixed_conifer(tmp_path, run_cli):
    p = real("lidR_MixedConifer.laz")
    t = lc.trees(p, hmin=2)
    run_cli("trees", p, "-o", tmp_path / "t.csv", "--hmin", "2")
    import pandas as pd

    pd.testing.assert_frame_equal(t, pd.read_csv(tmp_path / "t.csv"))
    assert len(t) > 100


def test_table_without_pandas(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("id,h,name\n1,2.5,a\n2,,b\n")
    mod = sys.modules.pop("pandas", None)
    sys.modules["pandas"] = None  # import pandas now raises ImportError
    try:
        t = lc._table(f)
    finally:
        del sys.modules["pandas"]
        if mod is not None:
            sys.modules["pandas"] = mod
    assert isinstance(t, dict) and list(t) == ["id", "h", "name"]
    assert t["h"][0] == 2.5 and np.isnan(t["h"][1]) and list(t["name"]) == ["a", "b"]


# --- metrics, calibrate, carbon, account, run on the synthetic demo ------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's synthetic county (small), run once through lc.run; its outputs feed the
    metrics / calibrate / carbon tests."""
    d = tmp_path_factory.mktemp("demo")
    assert lc.cli("-q", "synth-demo", "-o", d / "data", "--cells", "4") == 0
    res = lc.run(d / "data" / "pipeline.toml", output=d / "py", quiet=True)
    return d, res


def test_run_equals_cli(demo, run_cli):
    d, res = demo
    assert res["complete"] and res["output"] == str(d / "py")
    run_cli("run", d / "data" / "pipeline.toml", "-o", d / "cli")
    assert set(res["tables"]) >= {"F1_units", "F2_county", "F3_transitions", "uncertainty"}
    for name in ["F1_units", "F2_county", "F3_transitions", "uncertainty"]:
        assert (d / "py" / "account" / f"{name}.csv").read_bytes() == (
            d / "cli" / "account" / f"{name}.csv"
        ).read_bytes(), name
    assert len(res["tables"]["F2_county"]) >= 1


def test_run_dict_config_is_checked_like_a_file():
    # A dict is written as pipeline.toml: unknown keys are errors, as in a file.
    with pytest.raises(lc.LandcarbonError, match="no_such_key"):
        lc.run({"run": {"no_such_key": 1}})


def survey_dirs(d):
    return sorted(p for p in (d / "py").iterdir() if p.is_dir() and p.name.isdigit())


def test_calibrate_and_carbon_equal_cli(demo, run_cli, tmp_path):
    d, _ = demo
    s = survey_dirs(d)[0]
    plots = s / "plot_metrics.csv"
    assert plots.is_file(), sorted(os.listdir(s))
    model = lc.calibrate(plots, output=tmp_path / "py.json", no_figures=True)
    run_cli("calibrate", "--plots", plots, "-o", tmp_path / "cli.json", "--no-figures")
    assert model == json.loads((tmp_path / "cli.json").read_text())
    pools = lc.carbon(s / "metrics.tif", model)
    run_cli("carbon", "--metrics", s / "metrics.tif", "--model", tmp_path / "cli.json", "-o", tmp_path / "c")
    assert {"total_tc_ha", "agc_tc_ha", "flag"} <= set(pools)
    for name, r in pools.items():
        want = lc._read_raster(tmp_path / "c" / f"{name}.tif")
        assert np.array_equal(r.array, want.array, equal_nan=True), name


def test_metrics_grid_equals_cli(tmp_path, run_cli, ground_tile):
    g, _ = ground_tile
    n = lc.normalize(g)
    p = tmp_path / "norm.laz"
    lc.write(n, p)
    m = lc.metrics(p, grid=20)
    run_cli("metrics", p, "--grid", "20", "-o", tmp_path / "m.tif")
    want = lc._read_raster(tmp_path / "m.tif")
    assert list(m.bands) == list(want.bands) and len(m.bands) > 5
    for k in m.bands:
        assert np.array_equal(m.bands[k], want.bands[k], equal_nan=True), k
    with pytest.raises(lc.LandcarbonError, match="plots=CSV or grid"):
        lc.metrics(p)


def test_account_equals_cli(tmp_path, run_cli):
    assert lc.cli("-q", "synth-county", "-o", tmp_path / "c", "--nx", "6", "--ny", "6") == 0
    cfg = tmp_path / "c" / "account.toml"
    tables = lc.account(config=cfg, output=tmp_path / "py", mc_draws=10000)
    run_cli("account", "--config", cfg, "-o", tmp_path / "cli", "--mc-draws", "10000")
    for name in ["F1_units", "F2_county", "uncertainty"]:
        assert (tmp_path / "py" / f"{name}.csv").read_bytes() == (tmp_path / "cli" / f"{name}.csv").read_bytes()
    assert len(tables["F2_county"]) >= 1


def test_cli_errors_carry_the_cli_message(tmp_path):
    with pytest.raises(lc.LandcarbonError, match="nothing.laz"):
        lc.dtm(tmp_path / "nothing.laz")
    with pytest.raises(lc.LandcarbonError, match="unknown parameter 'bogus'"):
        lc.dtm(ISPRS, bogus=1)


def test_console_script(tmp_path):
    exe = Path(sys.executable).with_name("landcarbon")
    assert exe.is_file(), "the wheel installs the landcarbon command"
    r = subprocess.run([exe, "info", "--json", ISPRS], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["files"][0]["n_points"] == len(lc.read(ISPRS))
    r = subprocess.run([exe, "info", tmp_path / "none.laz"], capture_output=True, text=True)
    assert r.returncode == 2 and "none.laz" in r.stderr
    assert subprocess.run([exe, "--version"], capture_output=True).returncode == 0


def test_help_shows_docstrings():
    assert "cloth_resolution" in lc.ground.__doc__
    assert "zero" in lc.read.__doc__.lower() or "share memory" in lc.read.__doc__
    assert "numpy" in lc.PointCloud.__doc__


def test_interrupt_returns_at_once():
    """Ctrl-C during a long call: the pending signal is raised within the polling interval."""
    import signal
    import threading
    import time

    p = real("lidR_Megaplot.laz")
    t = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGINT))
    t0 = time.perf_counter()
    t.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in range(50):
            lc.ground(lc.read(p))
    assert time.perf_counter() - t0 < 30


def test_example_forest_png(tmp_path):
    """examples/python/forest.py end to end (a real tile when the shared set is there)."""
    png = tmp_path / "forest.png"
    r = subprocess.run([sys.executable, REPO / "examples" / "python" / "forest.py", IGNF, png],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    n = int(r.stdout.split(" trees")[0].rsplit(";", 1)[1])
    assert n > 10
