"""Decode memory: the output array, the file, and a bounded working set per
decoding thread (a chunk's rows, computed a slice at a time); no copy of the
coded data and no chunk-sized intermediate copies (issue 21)."""
import importlib.util
import tracemalloc
from pathlib import Path

import pytest

import inrcodec
from inrcodec import container, threads
from inrcodec.model import output_count
from inrcodec.schedule import CHUNK

_spec = importlib.util.spec_from_file_location(
    "decode_memory", Path(__file__).resolve().parents[1] / "scripts" / "decode_memory.py")
decode_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(decode_memory)        # its image: sparse 16-bit values, every plane varies


@pytest.fixture(scope="module")
def grouped_file():
    img = decode_memory.make(512, 4, 300)
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
