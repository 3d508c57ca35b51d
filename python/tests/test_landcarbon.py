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
    saved = {m: sys.modules.pop(m, None) for m in ("pandas", "pyarrow", "pyarrow.csv")}
    for m in saved:
        sys.modules[m] = None  # import now raises ImportError
    try:
        t = lc._table(f)
    finally:
        for m, mod in saved.items():
            del sys.modules[m]
            if mod is not None:
                sys.modules[m] = mod
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


def test_console_script_ctrl_c_cancels(tmp_path):
    """SIGINT to the `landcarbon` console script during a run: the run is cancelled, the
    command exits with 130 without a traceback, and no chunk is recorded afterwards."""
    import signal
    import time

    exe = Path(sys.executable).with_name("landcarbon")
    assert subprocess.run([exe, "-q", "synth-demo", "-o", tmp_path / "data", "--cells", "4"]).returncode == 0
    out = tmp_path / "out"
    proc = subprocess.Popen([exe, "-q", "--threads", "1", "run", tmp_path / "data" / "pipeline.toml",
                             "-o", out, "--chunk-size", "100"], stderr=subprocess.PIPE, text=True)
    t_end = time.time() + 60
    while not list(out.glob("*/manifest/chunk-*.json")) and proc.poll() is None and time.time() < t_end:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the interrupt"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.perf_counter() - t0
    at_exit = set(out.glob("*/manifest/chunk-*.json"))
    print(f"console script: exit {proc.returncode} {took:.2f} s after SIGINT")
    time.sleep(0.5)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and took < 10, (took, err)
    assert set(out.glob("*/manifest/chunk-*.json")) == at_exit and len(at_exit) < 18
    assert not (out / "run.json").exists()


def test_help_shows_docstrings():
    assert "cloth_resolution" in lc.ground.__doc__
    assert "zero" in lc.read.__doc__.lower() or "share memory" in lc.read.__doc__
    assert "numpy" in lc.PointCloud.__doc__
    assert "table_format" in lc.trees.__doc__ and "progress" in lc.run.__doc__
    assert "Ctrl-C cancels" in lc.__doc__ and "tqdm" in lc.__doc__


def test_interrupt_returns_at_once():
    """Ctrl-C during a long in-memory call: KeyboardInterrupt within about one stage, and no
    work of the module is left running once it is raised."""
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
    took = time.perf_counter() - t0 - 0.3
    print(f"interrupt in memory: KeyboardInterrupt {took:.2f} s after Ctrl-C, worker stopped")
    assert took < 30
    assert lc._active_jobs() == 0


def test_interrupt_cancels_run(tmp_path):
    """Ctrl-C during lc.run: KeyboardInterrupt promptly, and the work has stopped when it is
    raised: no worker left, no CPU burnt afterwards, no chunk recorded afterwards, no chunk
    folder without its record and no temporary file left; running again resumes."""
    import _thread
    import threading
    import time

    assert lc.cli("-q", "synth-demo", "-o", tmp_path / "data", "--cells", "4") == 0
    out = tmp_path / "out"

    def recorded():
        """(survey year, chunk id) of the chunks with a manifest record."""
        return {(p.parents[1].name, p.name[len("chunk-"):-len(".json")])
                for p in out.glob("*/manifest/chunk-*.json")}

    fired = []
    done = threading.Event()

    def ctrl_c_after_first_chunk():
        # Interrupt once the run is inside its chunk loop (a chunk is on disk).
        while not done.is_set():
            if recorded():
                fired.append(time.perf_counter())
                _thread.interrupt_main()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=ctrl_c_after_first_chunk, daemon=True)
    watcher.start()
    # One thread and small chunks: 18 chunks of about a second each, so the run is long.
    with pytest.raises(KeyboardInterrupt):
        try:
            lc.run(tmp_path / "data" / "pipeline.toml", output=out, threads=1, chunk_size=100,
                   quiet=True, progress=False)
        finally:
            raised = time.perf_counter()
            done.set()
    assert fired, "the run ended before any chunk was recorded"
    latency = raised - fired[0]
    # Already stopped when the exception is raised.
    assert lc._active_jobs() == 0
    at_raise = recorded()
    cpu0 = time.process_time()
    time.sleep(1.5)
    cpu = time.process_time() - cpu0
    print(f"interrupt: KeyboardInterrupt {latency:.2f} s after Ctrl-C, worker stopped, "
          f"{len(at_raise)} chunk(s) recorded, {cpu:.3f} s CPU in the 1.5 s after")
    assert latency < 10, latency
    assert recorded() == at_raise and 0 < len(at_raise) < 18
    assert cpu < 0.2, f"{cpu} s of CPU after the interrupt: the work goes on"
    dirs = {(p.parents[1].name, p.name[1:]) for p in out.glob("*/chunks/c*")}
    assert dirs == at_raise, "a chunk folder without its manifest record (half-done chunk)"
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]
    assert not (out / "run.json").exists() and not (out / "account").exists()
    # The same call again resumes: the recorded chunks are kept and the run completes.
    res = lc.run(tmp_path / "data" / "pipeline.toml", output=out, chunk_size=100, quiet=True,
                 progress=False)
    assert res["complete"] and set(res["tables"]) >= {"F1_units", "F2_county"}
    rec = json.loads((out / "run.json").read_text())
    assert rec["chunks_resumed"] == len(at_raise) and rec["chunks_total"] == 18


# --- progress --------------------------------------------------------------------------------


def test_progress_callback_counts_chunks(ground_tile):
    """progress=callable gets (done, total, points) from the calling thread: counts that
    never go back, ending at the total; points read cover the tile."""
    import threading

    _, p = ground_tile
    calls = []
    main = threading.get_ident()

    def cb(done, total, points):
        assert threading.get_ident() == main
        calls.append((done, total, points))

    lc.dtm(p, res=2, chunk_size=20, progress=cb)
    assert calls, "no progress reported"
    totals = {t for _, t, _ in calls}
    assert len(totals) == 1 and totals.pop() > 1
    done = [d for d, _, _ in calls]
    pts = [n for _, _, n in calls]
    assert done == sorted(done) and pts == sorted(pts)
    assert calls[-1][0] == calls[-1][1]
    assert calls[-1][2] >= len(lc.read(p))


def _hide(monkeypatch, *modules):
    """Makes `import m` raise ImportError for each module (as when it is not installed)."""
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_progress_line_without_tqdm(ground_tile, capsys, monkeypatch):
    _, p = ground_tile
    _hide(monkeypatch, "tqdm", "tqdm.auto")
    lc.dtm(p, res=2, chunk_size=20, quiet=True, progress=True)
    err = capsys.readouterr().err
    last = err.rstrip("\n").split("\r")[-1]
    n = int(last.split("/")[1].split()[0])
    assert n > 1 and last.startswith(f"dtm: {n}/{n} done,") and "points read" in last, err
    # Off by default when stderr is not a terminal (pytest, scripts): nothing printed.
    lc.dtm(p, res=2, chunk_size=20, quiet=True)
    assert capsys.readouterr().err == ""
    lc.dtm(p, res=2, chunk_size=20, quiet=True, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress must be"):
        lc.dtm(p, progress="yes")


def test_progress_on_by_default_in_jupyter(ground_tile, capsys, monkeypatch):
    """In IPython/Jupyter (get_ipython() answers) progress is shown without progress=True."""
    import types

    _, p = ground_tile
    _hide(monkeypatch, "tqdm", "tqdm.auto")
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not lc._interactive()  # IPython imported, but not running; stderr captured
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: object()))
    assert lc._interactive()
    lc.dtm(p, res=2, chunk_size=20, quiet=True)
    assert "dtm: " in capsys.readouterr().err


def test_progress_tqdm(ground_tile, capsys):
    try:
        import tqdm  # noqa: F401
    except ImportError:
        msg = "SKIP: tqdm not installed"
        print(msg)
        pytest.skip(msg)
    _, p = ground_tile
    lc.dtm(p, res=2, chunk_size=20, quiet=True, progress=True)
    err = capsys.readouterr().err
    assert "dtm" in err and "points" in err and "100%" in err, err


# --- table formats ---------------------------------------------------------------------------


def test_table_formats(ground_tile, monkeypatch):
    """trees as pandas, pyarrow and dict, the same values; the default follows what is
    installed (pandas, else pyarrow, else dict)."""
    import pandas as pd

    _, p = ground_tile
    df = lc.trees(p, table_format="pandas")
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    d = lc.trees(p, table_format="dict")
    assert isinstance(d, dict) and list(d) == list(df.columns)
    for k in d:
        if d[k].dtype.kind == "f":
            assert np.allclose(d[k], df[k].to_numpy(dtype=float), equal_nan=True), k
        else:
            assert list(d[k]) == [str(v) for v in df[k]], k
    with pytest.raises(ValueError, match="table_format must be one of"):
        lc.trees(p, table_format="csv")
    try:
        import pyarrow as pa
    except ImportError:
        msg = "SKIP: pyarrow not installed: the arrow format is not tested"
        print(msg)
        _hide(monkeypatch, "pandas", "pyarrow", "pyarrow.csv")
        assert isinstance(lc.trees(p), dict)
        pytest.skip(msg)
    t = lc.trees(p, table_format="arrow")
    assert isinstance(t, pa.Table) and t.column_names == list(df.columns)
    assert t.num_rows == len(df)
    for k in df.columns:
        # An all-empty column is of arrow's null type (None), pandas' float NaN.
        a = t.column(k).to_numpy(zero_copy_only=False)
        if df[k].dtype.kind in "fi":
            assert np.allclose(np.asarray(a, dtype=float), df[k].to_numpy(dtype=float), equal_nan=True), k
        else:
            assert list(a) == list(df[k]), k
    assert isinstance(lc.trees(p), pd.DataFrame)
    _hide(monkeypatch, "pandas")
    assert isinstance(lc.trees(p), pa.Table)
    _hide(monkeypatch, "pyarrow", "pyarrow.csv")
    assert isinstance(lc.trees(p), dict)
    with pytest.raises(ImportError, match="needs pyarrow"):
        lc.trees(p, table_format="arrow")


def test_run_tables_as_arrow(demo):
    try:
        import pyarrow as pa
    except ImportError:
        msg = "SKIP: pyarrow not installed"
        print(msg)
        pytest.skip(msg)
    d, res = demo
    tables = lc._tables(d / "py" / "account", "arrow")
    assert set(tables) == set(res["tables"])
    for name, t in tables.items():
        assert isinstance(t, pa.Table) and t.num_rows == len(res["tables"][name]), name


def test_example_forest_png(tmp_path):
    """examples/python/forest.py end to end (a real tile when the shared set is there)."""
    png = tmp_path / "forest.png"
    r = subprocess.run([sys.executable, REPO / "examples" / "python" / "forest.py", IGNF, png],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    n = int(r.stdout.split(" trees")[0].rsplit(";", 1)[1])
    assert n > 10
