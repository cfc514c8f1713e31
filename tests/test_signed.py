"""Signed samples (format 5): int8 and int16 images are coded exactly, as value +
offset, and come back with their dtype from the API, `linr decode` to TIFF and
`linr info`; formats that hold no signed samples refuse in one line."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inrcodec
from inrcodec import container
from inrcodec.wire import Header

ROOT = Path(__file__).resolve().parents[1]


def ct_like(h=48, w=56, seed=0):
    """Hounsfield-like int16: air around -1000, tissue near 0..100, bone up to 2000."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    r = np.hypot(y - h / 2, x - w / 2)
    img = np.where(r < h / 3, 40 + 20 * np.sin(x / 5), -1000) + np.where(r < h / 8, 1500, 0)
    return (img + rng.integers(-15, 16, img.shape)).astype(np.int16)


@pytest.mark.parametrize("img", [
    ct_like(),
    np.array([[-32768, 32767], [0, -1]], np.int16),                 # the whole int16 range: offset 2^15
    np.random.default_rng(1).integers(-128, 128, (9, 11, 3)).astype(np.int8),
    np.arange(40, dtype=np.int16).reshape(5, 8),                     # no negative value: offset 0
    np.full((6, 7), -5, np.int8),                                   # constant: no pixel decision
], ids=["ct", "int16-extremes", "int8-rgb", "non-negative", "constant"])
def test_signed_round_trip_restores_dtype_and_offset(img):
    data = inrcodec.encode(img, effort=0)
    back = inrcodec.decode(data)
    assert back.dtype == img.dtype and np.array_equal(back, img)
    info = inrcodec.info(data)
    half = 1 << (8 * img.dtype.itemsize - 1)
    assert info["dtype"] == img.dtype.name and info["offset"] >= max(0, -int(img.min()))
    assert (1 << info["bit_depth"]) - 1 - info["offset"] < half          # every coded value fits
    if max(0, -int(img.min())) + int(img.max()) < half // 2:
        assert info["offset"] == max(0, -int(img.min()))                # the smallest offset
    hd = Header.unpack(container.read(data).get(container.HEADER), container.VERSION)
    assert hd.image.signed and hd.image.offset == info["offset"]


def test_signed_preview_and_tight_bit_depth():
    img = ct_like(64, 64)
    data = inrcodec.encode(img, effort=0)
    assert np.array_equal(inrcodec.decode(data, reduce=4), img[::4, ::4])
    # -1015 .. ~1575 shifted by 1015: 12 bits are coded, not 16
    assert inrcodec.info(data)["bit_depth"] == int(img.max() - img.min()).bit_length()
    # the offset costs a varint: within a few bytes of the same values given unsigned
    unsigned = (img.astype(np.int32) - int(img.min())).astype(np.uint16)
    assert len(data) <= len(inrcodec.encode(unsigned, effort=0)) + 3


def test_unsigned_files_have_no_signed_field():
    img = np.arange(64, dtype=np.uint16).reshape(8, 8)
    info = inrcodec.info(inrcodec.encode(img, effort=0))
    assert info["dtype"] == "uint16" and info["offset"] is None


def _linr(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "inrcodec", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_signed_tiff_round_trip_and_refusals(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    img = ct_like()
    src, coded = tmp_path / "ct.tif", tmp_path / "ct.linr"
    tifffile.imwrite(src, img)
    assert _linr("encode", src, coded, "-q").returncode == 0
    info = _linr("info", coded)
    assert info.returncode == 0 and "int16" in info.stdout and "value + 1015" in info.stdout
    out = tmp_path / "back.tif"
    assert _linr("decode", coded, out, "-q").returncode == 0
    back = tifffile.imread(out)
    assert back.dtype == np.int16 and np.array_equal(back, img)
    png = _linr("decode", coded, tmp_path / "back.png", "-q")
    assert png.returncode != 0 and "cannot hold signed (int16) samples; use .tif" in png.stderr
    assert len(png.stderr.strip().splitlines()) == 1 and not (tmp_path / "back.png").exists()
