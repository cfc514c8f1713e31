import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run long fits and full-set checks")
    parser.addoption("--fuzz-long", action="store_true",
                     help="long fuzzing run (>= 20,000 cases; same as LINR_FUZZ_LONG=1)")


def pytest_configure(config):
    import os
    if config.getoption("--fuzz-long", default=False):
        os.environ["LINR_FUZZ_LONG"] = "1"


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long run: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path
