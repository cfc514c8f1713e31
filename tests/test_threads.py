"""Decoding is thread-safe: different files decoded at once from several threads of one
process (shared caches, compiled kernels, the walker's own worker threads and its BLAS
limit) each give back their own image."""
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import inrcodec
from inrcodec import threads
from inrcodec.schedule import CHUNK

ROUNDS = 3


def _images() -> dict:
    rng = np.random.default_rng(18)
    y, x = np.mgrid[:64, :64]
    rgb = np.stack([(x * 4) % 256, (y * 4) % 256, ((x + y) * 2) % 256], 2)
    rgb = (rgb + rng.integers(0, 6, rgb.shape)).clip(0, 255).astype(np.uint8)
    y, x = np.mgrid[:40, :40]
    gray16 = (x * 1500 + y * 300 + rng.integers(0, 64, x.shape)).astype(np.uint16)
    # more pixels than a chunk: the walker decodes it with its worker threads
    h = 240
    w = CHUNK // h + 16
    y, x = np.mgrid[:h, :w]
    big = np.stack([(x + y) % 256, (x * 2) % 256, (y * 3) % 256], 2)
    big = (big + rng.integers(0, 4, big.shape)).clip(0, 255).astype(np.uint8)
    few = np.array([[10, 20, 30], [200, 100, 0], [0, 255, 0]], np.uint8)[(x[:32, :48] // 7 + y[:32, :48] // 5) % 3]
    return {"rgb": rgb, "gray16": gray16, "big": big, "palette": few}


@pytest.fixture(scope="module")
def coded():
    images = _images()
    assert images["big"].shape[0] * images["big"].shape[1] > CHUNK
    files = {name: inrcodec.encode(img, effort=0, palette="always" if name == "palette" else "auto")
             for name, img in images.items()}
    assert inrcodec.info(files["palette"])["palette"] is not None
    return images, files


def test_different_files_decoded_from_four_threads_at_once(coded, monkeypatch):
    images, files = coded
    monkeypatch.setenv("LINR_THREADS", "2")          # the big image's walk gets worker threads
    assert threads.budget() == 2
    order = random.Random(18)
    with ThreadPoolExecutor(4) as pool:
        for _ in range(ROUNDS):
            names = list(files)
            order.shuffle(names)
            results = list(pool.map(lambda name: (name, inrcodec.decode(files[name])), names))
            for name, img in results:
                want = images[name]
                assert img.dtype == want.dtype and img.shape == want.shape, name
                assert np.array_equal(img, want), name
