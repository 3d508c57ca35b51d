"""Fixtures of the landcarbon Python tests: bundled and shared real files, the CLI binary."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"
# $LANDCARBON_SHARED names the real-data folder itself, as for the Rust tests and scripts.
REAL = Path(os.environ.get("LANDCARBON_SHARED", REPO.parent / "shared" / "testdata" / "real"))

# Small real tiles shipped in the repository.
IGNF = TESTDATA / "ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz"
EXTRA = TESTDATA / "pdal_extra_bytes_crop.laz"
ISPRS = TESTDATA / "isprs" / "samp11-utm.laz"


def real(name):
    """A file of the shared real-data set, or a loud skip when the set is absent."""
    p = REAL / name
    if not p.is_file():
        msg = f"SKIP: real file {p} not found (shared real-data set absent)"
        print(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def cli_bin():
    """The Rust `landcarbon` binary (the CLI the Python API must agree with)."""
    p = os.environ.get("LANDCARBON_CLI") or str(REPO / "target" / "release" / "landcarbon")
    if not os.access(p, os.X_OK):
        p = shutil.which("landcarbon-rs") or p
    assert os.access(p, os.X_OK), f"no landcarbon binary at {p}: cargo build --release first"
    return p


@pytest.fixture(scope="session")
def run_cli(cli_bin):
    def run(*args):
        r = subprocess.run([cli_bin, "-q", *map(str, args)], capture_output=True, text=True)
        assert r.returncode == 0, f"landcarbon {' '.join(map(str, args))} failed: {r.stderr}"
        return r

    return run
