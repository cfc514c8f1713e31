"""Bit-exact round trips through the Python API."""
import numpy as np
import pytest

import inrcodec
from conftest import DATA, FASHION, need


def roundtrip(img, **opts):
    data = inrcodec.encode(img, **opts)
    back = inrcodec.decode(data)
    assert back.dtype == img.dtype and back.shape == img.shape
    assert np.array_equal(back, img)
    return data


RNG = np.random.default_rng(1)
SYNTHETIC = {
    "1x1": np.array([[200]], np.uint8),
    "1x1x3_16bit": np.array([[[1, 65535, 300]]], np.uint16),
    "constant": np.full((17, 23), 91, np.uint8),
    "zeros": np.zeros((8, 8), np.uint8),
    "noise_gray": RNG.integers(0, 256, (13, 29), dtype=np.uint8),
    "noise_rgb_odd": RNG.integers(0, 256, (9, 31, 3), dtype=np.uint8),
    "rgba": RNG.integers(0, 256, (12, 10, 4), dtype=np.uint8),
    "gray_alpha_16": RNG.integers(0, 65536, (7, 5, 2), dtype=np.uint16),
    "noise_16bit": RNG.integers(0, 65536, (16, 16), dtype=np.uint16),
    "one_bit": (RNG.random((20, 20)) > 0.5).astype(np.uint8),
    "tall": RNG.integers(0, 4, (70, 3), dtype=np.uint8),
    "hx wx1": RNG.integers(0, 256, (6, 6, 1), dtype=np.uint8),
    "ramp_12bit": (np.arange(40 * 40).reshape(40, 40) % 4096).astype(np.uint16),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic(name):
    roundtrip(SYNTHETIC[name], effort=0)


def test_fitting_paths_are_exact():
    img = RNG.integers(0, 256, (12, 12), dtype=np.uint8)
    roundtrip(img, effort=1)                       # prior + fitted last layer
    roundtrip(img, effort=1, prior="none")         # seeded init + full delta
    roundtrip(img, effort=1, mode="ber0")          # the paper's unconditioned mode
    roundtrip(img, effort=1, prior="none", activation="relu", hidden=8, layers=1)


def test_fitted_delta_is_written():
    # a seeded init knows nothing; on a structured image a fitted delta pays
    y, x = np.mgrid[:24, :24]
    img = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], axis=2).astype(np.uint8)
    data = roundtrip(img, effort=2, prior="none")
    assert inrcodec.info(data)["delta_tensors"] > 0


def test_constant_image_is_small():
    data = roundtrip(np.full((64, 64), 255, np.uint8), effort=0)
    assert len(data) < 64 * 64 / 8


def test_bad_arrays_rejected():
    for bad in (np.zeros((4, 4), np.int32), np.zeros((4, 4, 5), np.uint8), np.zeros((0, 3), np.uint8),
                np.zeros((2, 2, 2, 2), np.uint8), [[1, 2]]):
        with pytest.raises(inrcodec.ImageError):
            inrcodec.encode(bad)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(np.zeros((4, 4), np.uint8), effort=42)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(np.zeros((4, 4), np.uint8), prior="no-such-prior")
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(np.zeros((4, 4, 3), np.uint8), prior="mnist")


def _idx(path, count):
    from inrcodec.bench.datasets import read_idx
    return read_idx(path)[:count]


def test_mnist_samples():
    for img in _idx(need(DATA / "mnist" / "t10k-images-idx3-ubyte.gz"), 4):
        data = roundtrip(img, effort=0)
        assert 8 * len(data) / 784 < 2.6       # well below PNG on digits


def test_fashion_samples():
    for img in _idx(need(FASHION / "t10k-images-idx3-ubyte.gz"), 4):
        roundtrip(img, effort=0)


def test_img16_crops():
    import cv2
    files = sorted(need(DATA / "img16" / "crops64").glob("*.png"))
    assert len(files) == 16
    for path in files[:16]:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        roundtrip(img, effort=0)


@pytest.mark.slow
def test_default_effort_on_digits_and_crops():
    for img in _idx(need(DATA / "mnist" / "t10k-images-idx3-ubyte.gz"), 3):
        roundtrip(img)
