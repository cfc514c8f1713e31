"""Decode memory: the output array, the file, and a bounded working set per
decoding thread (a chunk's rows, computed a slice at a time); no copy of the
coded data and no chunk-sized intermediate copies (issue 21)."""
import tracemalloc

import numpy as np
import pytest

import inrcodec
from inrcodec import container, threads
from inrcodec.model import output_count
from inrcodec.schedule import CHUNK


def sparse16(side: int, channels: int, values: int = 300, seed: int = 0) -> np.ndarray:
    """A smooth field with noise, mapped onto `values` levels spread over 16 bits:
    every plane varies, so every group codes decisions."""
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.choice(65536, values, replace=False)).astype(np.uint16)
    y, x = np.mgrid[0:side, 0:side] / side
    out = np.empty((side, side, channels), np.uint16)
    for c in range(channels):
        field = (np.sin(6 * x + c) + np.cos(5 * y - c) + 2) / 4 * (values - 1)
        field += rng.normal(0, values / 50, (side, side))
        out[:, :, c] = levels[np.clip(field, 0, values - 1).astype(np.int64)]
    return out


@pytest.fixture(scope="module")
def grouped_file():
    img = sparse16(512, 4)
    return img, inrcodec.encode(img, effort=0, group_size=256)


def test_coded_data_is_a_view_into_the_file(grouped_file):
    _img, data = grouped_file
    body = container.read(data).get(container.DATA)
    assert isinstance(body, memoryview) and body.obj is data


@pytest.mark.parametrize("budget", [1, 2])
def test_decode_peak_is_output_file_and_a_chunk_per_thread(grouped_file, budget):
    img, data = grouped_file
    chunk_rows = CHUNK * (output_count(4) + 2 * 4 + 1) * 8      # trunk outputs, anchors, contexts, shifts
    threads.configure(budget)
    try:
        inrcodec.decode(data)                                      # caches and tables first
        tracemalloc.start()
        out = inrcodec.decode(data)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        threads.configure(None)
    assert (out == img).all()
    # before: each thread held a chunk's rows twice (slices and their joined copy) and the
    # next chunk's, and the coded data was copied twice: over 4 chunks' rows per thread
    bound = out.nbytes + len(data) + budget * (chunk_rows + (12 << 20))
    assert peak <= bound, (peak, bound)
