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


def test_map_ordered_keeps_the_items_order(monkeypatch):
    monkeypatch.setenv("LINR_THREADS", "2")
    import time
    # the first item finishes last: the result still lists it first
    assert threads.map_ordered(lambda s: (time.sleep(s), s)[1], [0.05, 0.0, 0.01]) == [0.05, 0.0, 0.01]
    monkeypatch.setenv("LINR_THREADS", "1")
    assert threads.map_ordered(lambda x: x * 2, [3, 1, 2]) == [6, 2, 4]


def test_the_encoders_side_by_side_walks_change_no_byte(monkeypatch):
    """The ranking of the priors and the search of the delta's step measure crops side by
    side on the thread budget; one thread or two, the same file."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    y, x = np.mgrid[:48, :48]
    img = np.stack([(x * 5 + y) % 256, (y * 4) % 256, (x * 3 + y * 2) % 256], 2)
    img = (img + rng.integers(0, 9, img.shape)).clip(0, 255).astype(np.uint8)
    from inrcodec.encoder import Encoder
    measured = []
    measure = Encoder.measured
    monkeypatch.setattr(Encoder, "measured", lambda self, *a: measured.append(a[1]) or measure(self, *a))
    files = []
    for budget in ("1", "2"):
        monkeypatch.setenv("LINR_THREADS", budget)
        files.append(inrcodec.encode(img, effort=3))    # effort 3 fits a delta at any size
    assert inrcodec.info(files[0])["prior"] is not None
    assert len(measured) >= 4                           # the step search ran, both times
    assert files[0] == files[1]


@pytest.mark.parametrize("shape,dtype", [((96, 80, 3), np.uint8), ((70, 100), np.uint16)])
def test_groups_written_side_by_side_change_no_byte(monkeypatch, shape, dtype):
    """The encoder writes an image's groups a group a thread when the budget has two: the
    same file as one thread writing them in turn, and it decodes exactly."""
    rng = np.random.default_rng(shape[0])
    y, x = np.mgrid[:shape[0], :shape[1]]
    top = 255 if dtype == np.uint8 else 4095
    base = (x * 3 + y * 5) if len(shape) == 2 else np.stack([x * 3 + y, y * 4, x + y * 2], 2)
    img = ((base + rng.integers(0, 12, shape)) % top).astype(dtype)
    from inrcodec import encoder
    sides = []
    map_ordered = threads.map_ordered
    monkeypatch.setattr(threads, "map_ordered", lambda fn, items: sides.append(len(items)) or map_ordered(fn, items))
    files = []
    for budget in ("1", "2"):
        monkeypatch.setenv("LINR_THREADS", budget)
        sides.clear()
        files.append(inrcodec.encode(img, effort=0, group_size=32))
    groups = inrcodec.info(files[0])["groups"]
    assert groups > 4
    assert encoder.threads is threads and groups in sides     # two threads: one call for the groups
    assert files[0] == files[1]
    assert np.array_equal(inrcodec.decode(files[1]), img)
