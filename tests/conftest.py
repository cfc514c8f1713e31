import importlib.util
import sys
from functools import lru_cache
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


@lru_cache(maxsize=None)
def reference_decoder():
    """formats/reference/linr_ref.py, loaded by path (it is not a package; it must not
    import inrcodec)."""
    spec = importlib.util.spec_from_file_location("linr_ref", ROOT / "formats" / "reference" / "linr_ref.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
