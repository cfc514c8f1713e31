"""Every valid PngSuite file round-trips; every corrupt one is a clean error."""
import numpy as np
import pytest

import inrcodec
from conftest import DATA

SUITE = DATA / "pngsuite"
FILES = sorted(SUITE.glob("*.png")) if SUITE.exists() else []
VALID = [p for p in FILES if not p.name.startswith("x")]
CORRUPT = [p for p in FILES if p.name.startswith("x")]


@pytest.mark.skipif(not FILES, reason="PngSuite not available")
def test_suite_counts():
    assert len(VALID) == 161 and len(CORRUPT) == 14


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_roundtrip(path):
    img = inrcodec.read_image(path)
    back = inrcodec.decode(inrcodec.encode(img, effort=0))
    assert back.dtype == img.dtype and np.array_equal(back, img)


@pytest.mark.parametrize("path", CORRUPT, ids=lambda p: p.name)
def test_corrupt_png_is_clean_error(path):
    with pytest.raises(inrcodec.ImageError):
        inrcodec.read_image(path)
