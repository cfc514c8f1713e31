"""encode_many / decode_many: in-process, on a local pool, on a Dask LocalCluster."""
import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import inrcodec
from inrcodec import batch
from inrcodec.batch import decode_many, encode_many

OPTIONS = {"effort": 0}


def _images():
    rng = np.random.default_rng(8)
    ramp = np.add.outer(np.arange(28), np.arange(28)).astype(np.uint8) * 4
    ims = [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(4)]
    ims += [ramp, rng.integers(0, 256, (28, 28), dtype=np.uint8),
            rng.integers(0, 4096, (8, 8), dtype=np.uint16),
            rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
            np.full((1, 1), 7, np.uint8), np.zeros((28, 28), np.uint8)]
    return ims


@pytest.fixture(scope="module")
def images():
    return _images()


@pytest.fixture(scope="module")
def reference(images):
    return [inrcodec.encode(im, **OPTIONS) for im in images]


def _same_arrays(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray)
        assert g.dtype == w.dtype and g.shape == w.shape and np.array_equal(g, w)


@pytest.mark.parametrize("jobs", [1, 2])
def test_round_trip_matches_single_calls(images, reference, jobs):
    datas = encode_many(images, jobs=jobs, **OPTIONS)
    assert datas == reference                                  # bytes identical, in order
    _same_arrays(decode_many(datas, jobs=jobs), images)


def test_all_cores_and_any_iterable(images, reference):
    datas = encode_many((im for im in images[:4]), **OPTIONS)  # jobs=None: every core
    assert datas == reference[:4]
    _same_arrays(decode_many(tuple(reference[:4])), images[:4])
    _same_arrays(decode_many([memoryview(d) for d in reference[:3]], jobs=2), images[:3])


@pytest.mark.parametrize("jobs", [None, 1, 2])
def test_empty(jobs):
    assert encode_many([], jobs=jobs) == []
    assert decode_many([], jobs=jobs) == []


@pytest.mark.parametrize("jobs", [0, -1, 1.5, "2", True, np.float64(2.0)])
def test_bad_jobs(jobs, images):
    with pytest.raises(inrcodec.LinrError, match="jobs"):
        encode_many(images[:1], jobs=jobs)
    with pytest.raises(inrcodec.LinrError, match="jobs"):
        decode_many([], jobs=jobs)


def test_numpy_integer_jobs(images, reference):
    assert encode_many(images[:2], jobs=np.int64(1), **OPTIONS) == reference[:2]


def test_jobs_and_client_together():
    with pytest.raises(inrcodec.LinrError, match="client"):
        decode_many([], jobs=2, client=object())


def test_one_item_not_a_sequence(reference):
    with pytest.raises(inrcodec.LinrError, match="sequence"):
        decode_many(reference[0])
    with pytest.raises(inrcodec.LinrError, match="iterable"):
        encode_many(5)


@pytest.mark.parametrize("jobs", [1, 2])
def test_first_error_in_input_order(reference, jobs):
    datas = list(reference)
    datas[3] = b"garbage"                                  # FormatError
    datas[6] = reference[6][: len(reference[6]) // 2]      # TruncatedError, later: not raised
    with pytest.raises(inrcodec.FormatError, match=r"^item 3: ") as info:
        decode_many(datas, jobs=jobs)
    assert type(info.value) is inrcodec.FormatError and info.value.index == 3
    datas[3] = reference[3]
    with pytest.raises(inrcodec.TruncatedError, match=r"^item 6: ") as info:
        decode_many(datas, jobs=jobs)
    assert info.value.index == 6


@pytest.mark.parametrize("jobs", [1, 2])
def test_encode_error_keeps_its_class(images, jobs):
    bad = list(images[:5])
    bad[2] = np.zeros((4, 4), np.float32)
    with pytest.raises(inrcodec.ImageError, match=r"^item 2: .*float32"):
        encode_many(bad, jobs=jobs, **OPTIONS)


@pytest.mark.parametrize("jobs", [1, 2])
def test_other_errors_keep_their_type_and_index(images, jobs):
    with pytest.raises(TypeError) as info:
        encode_many(images[:3], jobs=jobs, no_such_option=1)
    assert info.value.index == 0


class _KillsItsWorker:
    """Unpickling this in a worker ends that process at once (as the OOM killer would)."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_dead_worker_raises_instead_of_hanging(images):
    with pytest.raises(BrokenProcessPool):
        encode_many([images[0], _KillsItsWorker(), images[1]], jobs=2, **OPTIONS)


def test_chunks_cover_input_in_order():
    for n in (1, 2, 7, 10, 200, 1001):
        for workers in (1, 2, 16):
            for weights in ([784] * n, [10 ** 7] * n, list(range(1, n + 1))):
                runs = batch._chunks(weights, batch._CHUNK_PIXELS, workers)
                assert runs[0][0] == 0 and runs[-1][1] == n
                assert all(a < b for a, b in runs)
                assert all(runs[i][1] == runs[i + 1][0] for i in range(len(runs) - 1))
    # Many small images: several per chunk, yet a few chunks per worker for balance.
    runs = batch._chunks([784] * 200, batch._CHUNK_PIXELS, 2)
    assert 4 <= len(runs) <= 16 and max(b - a for a, b in runs) > 1
    # Large images: one per chunk.
    assert batch._chunks([4000 * 6000] * 3, batch._CHUNK_PIXELS, 2) == [(0, 1), (1, 2), (2, 3)]


def test_dask_local_cluster(images, reference):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        datas = encode_many(images, client=client, **OPTIONS)
        assert datas == reference
        _same_arrays(decode_many(datas, client=client), images)
        bad = list(datas)
        bad[5] = b"garbage"
        with pytest.raises(inrcodec.FormatError, match=r"^item 5: ") as info:
            decode_many(bad, client=client)
        assert info.value.index == 5
        assert encode_many([], client=client) == []
        with pytest.raises(inrcodec.LinrError, match="client"):
            encode_many(images[:1], jobs=1, client=client)


def test_client_must_be_a_client(images):
    pytest.importorskip("dask.distributed")
    with pytest.raises(inrcodec.LinrError, match="Client"):
        encode_many(images[:1], client=object())
