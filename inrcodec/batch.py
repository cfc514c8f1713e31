"""Many images at once: on every core of this machine, or on a Dask cluster.

    >>> datas = inrcodec.encode_many(images, effort=0)          # all cores
    >>> images2 = inrcodec.decode_many(datas, jobs=2)
    >>> datas = inrcodec.encode_many(images, client=client)     # a dask.distributed.Client

Each result is exactly what ``inrcodec.encode(image, **options)`` / ``inrcodec.decode(data)``
returns for that item, in input order. Work is sent in chunks of several images per task, so
that small images (MNIST's 28x28) are not dominated by inter-process traffic.

Local pools use the ``forkserver`` start method: workers are forked from a clean server
process that has imported ``inrcodec`` once but never run torch, so no OpenMP/torch thread
pool is ever copied across ``fork`` (which can deadlock), and a new pool starts in tens of
milliseconds instead of re-importing everything as ``spawn`` does. Every worker runs with one
thread (``OMP_NUM_THREADS=1``; ``torch.set_num_threads(1)`` where torch is loaded). As with
any ``spawn``/``forkserver`` pool, a script that calls these functions must guard its entry
point with ``if __name__ == "__main__":``.

Errors: the first failing item in input order is raised as the same ``LinrError`` subclass
the single-image call raises, with ``"item N: "`` in front of its message and ``.index = N``.
"""
from __future__ import annotations

import functools
import math
import multiprocessing
import numbers
import os
import pickle
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import threads
from .errors import LinrError

__all__ = ["encode_many", "decode_many"]

# Start method per operation; forkserver where the platform has it (Linux, macOS), else spawn.
# Module-level so that scripts/throughput.py can compare methods; not a public setting.
_START_METHOD = {
    "encode": "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn",
    "decode": "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn",
}
# What a chunk aims at: enough work to amortise one task's IPC and scheduling, small enough
# that the workers stay balanced (at least _CHUNKS_PER_WORKER chunks per worker when possible).
_CHUNK_PIXELS = 1 << 16          # encode: ~80 MNIST images, or one 256x256 image, per task
_CHUNK_BYTES = 1 << 15           # decode: compressed bytes per task
_CHUNKS_PER_WORKER = 4
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


# --------------------------------------------------------------------------- public API

def encode_many(images: Iterable[np.ndarray], /, *, jobs: Optional[int] = None,
                client: Any = None, **options) -> List[bytes]:
    """Encode many images; returns ``[inrcodec.encode(im, **options) for im in images]``.

    ``jobs``: worker processes on this machine (``None``: every usable core; ``1``: in this
    process, no pool). ``client``: a ``dask.distributed.Client`` to run on instead (then
    ``jobs`` must be left out). The first failing image in input order raises its error.
    """
    items = _as_list(images, "encode_many", "images", (str, bytes, bytearray, memoryview))
    weights = [_pixels(im) for im in items]
    return _run("encode", items, weights, _CHUNK_PIXELS, jobs, client, options)


def decode_many(datas: Iterable[bytes], /, *, jobs: Optional[int] = None,
                client: Any = None, max_pixels: Optional[int] = None) -> List[np.ndarray]:
    """Decode many .linr byte strings; returns ``[inrcodec.decode(d) for d in datas]``.

    ``jobs`` and ``client`` as for :func:`encode_many`; ``max_pixels`` as for decode.
    """
    items = _as_list(datas, "decode_many", "datas", (str, bytes, bytearray, memoryview))
    items = [bytes(d) if isinstance(d, memoryview) else d for d in items]
    weights = [len(d) if isinstance(d, (bytes, bytearray)) else 1 for d in items]
    return _run("decode", items, weights, _CHUNK_BYTES, jobs, client,
                {} if max_pixels is None else {"max_pixels": max_pixels})


# --------------------------------------------------------------------------- plumbing

def _as_list(values, func: str, what: str, single: tuple) -> list:
    if isinstance(values, single):
        raise LinrError(f"{func}: {what} must be a sequence of items, not one "
                        f"{type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise LinrError(f"{func}: {what} must be an iterable, not "
                        f"{type(values).__name__}") from None


def _pixels(image) -> int:
    size = getattr(image, "size", None)
    return int(size) if isinstance(size, numbers.Integral) and size > 0 else 1


def _check_jobs(jobs) -> Optional[int]:
    if jobs is None:
        return None
    if isinstance(jobs, bool) or not isinstance(jobs, numbers.Integral) or jobs < 1:
        raise LinrError(f"jobs must be an integer >= 1 or None, not {jobs!r}")
    return int(jobs)


def _chunks(weights: Sequence[int], target: int, workers: int) -> List[Tuple[int, int]]:
    """Split ``range(len(weights))`` into consecutive (start, stop) runs.

    A run closes when its weight reaches ``target`` or it holds ``cap`` items, where ``cap``
    keeps about ``_CHUNKS_PER_WORKER`` runs per worker so the workers stay balanced."""
    n = len(weights)
    cap = max(1, math.ceil(n / (workers * _CHUNKS_PER_WORKER)))
    runs, start, acc = [], 0, 0
    for i, w in enumerate(weights):
        acc += w
        if acc >= target or i + 1 - start >= cap:
            runs.append((start, i + 1))
            start, acc = i + 1, 0
    if start < n:
        runs.append((start, n))
    return runs


def _function(kind: str) -> Callable:
    from . import codec
    return codec.encode if kind == "encode" else codec.decode


def _work(kind: str, options: dict, start: int, items: list) -> list:
    """Run one chunk in a worker. Returns a list of results, stopping at the first failure,
    which is returned as a final ``_Failure`` (an earlier item's error wins anyway)."""
    func = _function(kind)
    out = []
    for offset, item in enumerate(items):
        try:
            out.append(func(item, **options))
        except Exception as exc:                      # noqa: BLE001 - reported to the caller
            out.append(_Failure.capture(start + offset, exc))
            break
    return out


class _Failure:
    """An item's exception, carried back from a worker (always picklable)."""

    def __init__(self, index: int, exc: BaseException, text: str):
        self.index, self.exc, self.text = index, exc, text

    @classmethod
    def capture(cls, index: int, exc: BaseException) -> "_Failure":
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:                              # noqa: BLE001
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return cls(index, exc, text)

    def __reduce__(self):
        return (_Failure, (self.index, _strip(self.exc), self.text))

    def raise_(self, remote: bool):
        exc, index = self.exc, self.index
        if isinstance(exc, LinrError):
            try:
                new = type(exc)(f"item {index}: {exc}")
            except Exception:                          # noqa: BLE001 - odd constructor
                new = None
            if new is not None:
                new.index = index
                cause = _RemoteTraceback(self.text) if remote else exc
                raise new from cause
        exc.index = index
        if hasattr(exc, "add_note"):
            exc.add_note(f"raised by item {index}")
        if remote:
            raise exc from _RemoteTraceback(self.text)
        raise exc


def _strip(exc: BaseException) -> BaseException:
    exc.__traceback__ = None
    return exc


class _RemoteTraceback(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return "\n\n" + self.text


def worker_pool(workers: int, kind: str = "encode", preload=()) -> ProcessPoolExecutor:
    """A pool of worker processes set up as linr's own: one thread each, Ctrl-C left to
    the parent, the codec imported once by the forkserver (`preload`: more modules).
    concurrent.futures rather than multiprocessing.Pool: a worker killed by the system
    (out of memory, a signal) raises BrokenProcessPool instead of hanging forever."""
    ctx = multiprocessing.get_context(_START_METHOD[kind])
    if ctx.get_start_method() == "forkserver":
        # workers forked from the server start in milliseconds; no effect once it runs
        ctx.set_forkserver_preload(["inrcodec.codec", "inrcodec.kernels", *preload])
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)


def _init_worker():
    """Pool initializer: one thread per worker, for every numeric library we may meet;
    Ctrl-C is the parent's to handle (workers ignore it and are shut down by it)."""
    import signal
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    threads.configure(1)                              # the processes are the parallelism
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _collect(results: Iterable[list], n: int, remote: bool) -> list:
    """Flatten the chunk results (given in input order); raise the first failure."""
    out = []
    for chunk in results:
        for value in chunk:
            if isinstance(value, _Failure):
                value.raise_(remote)
            out.append(value)
    assert len(out) == n
    return out


# total pixels (encode) or coded bytes (decode) below which jobs=None stays in-process
_POOL_MIN_WORK = {"encode": 1 << 20, "decode": 1 << 19}


def _run(kind: str, items: list, weights: list, target: int, jobs, client, options) -> list:
    jobs = _check_jobs(jobs)
    if client is not None:
        if jobs is not None:
            raise LinrError("give either jobs or client, not both")
        return _run_dask(kind, items, weights, target, client, options)
    if not items:
        return []
    workers = min(jobs or threads.budget(), len(items))
    if jobs is None and sum(weights) < _POOL_MIN_WORK[kind]:
        # too little work to pay for starting worker processes (measured: 200 MNIST
        # images run faster in this process than in a pool of two)
        workers = 1
    if workers == 1:
        return _collect([_work(kind, options, 0, items)], len(items), remote=False)
    runs = _chunks(weights, target, workers)
    pool = worker_pool(workers, kind)
    ok = False
    try:
        futures = [pool.submit(_work, kind, options, a, items[a:b]) for a, b in runs]
        out = _collect(_results(futures, runs), len(items), remote=True)
        ok = True
    finally:
        if not ok:
            # An item failed or Ctrl-C: drop the chunks not started and stop those running
            # (workers ignore SIGINT, and a large image may take minutes).
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
        pool.shutdown(wait=True, cancel_futures=not ok)
    return out


def _results(futures, runs):
    for future, (a, b) in zip(futures, runs):
        try:
            yield future.result()
        except BrokenProcessPool as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"while coding items {a} to {b - 1}")
            raise


def _star_work(kind: str, options: dict, job: Tuple[int, list]) -> list:
    return _work(kind, options, job[0], job[1])


def _run_dask(kind: str, items: list, weights: list, target: int, client, options) -> list:
    try:
        import distributed                             # noqa: F401 - optional dependency
    except ImportError:
        raise LinrError("client= needs dask.distributed: pip install \"dask[distributed]\"") \
            from None
    if not hasattr(client, "scatter") or not hasattr(client, "map"):
        raise LinrError(f"client must be a dask.distributed.Client, not {type(client).__name__}")
    if not items:
        return []
    nthreads = client.nthreads() if hasattr(client, "nthreads") else {}
    workers = max(1, sum(nthreads.values()) if nthreads else 1)
    runs = _chunks(weights, target, workers)
    jobs = [(a, items[a:b]) for a, b in runs]
    # Scatter the data first, so large images travel as data, not inside the task graph.
    scattered = client.scatter(jobs, hash=False)
    futures = client.map(functools.partial(_star_work, kind, options), scattered, pure=False)
    del jobs, scattered
    try:
        return _collect((f.result() for f in futures), len(items), remote=True)
    except BaseException:
        client.cancel(futures)                         # stop the chunks still queued
        raise
