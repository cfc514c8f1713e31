"""The process's thread budget, and the one process-wide limit linr sets.

budget() is how many threads linr's own work may use at once: set with
configure(n) (the CLI's --threads), else LINR_THREADS, else the machine's
cores. The walker's workers and torch's fitting threads follow it; the CLI,
which owns its process, also caps BLAS (one thread: one_blas_thread_for_the_command) and
OpenMP there (limit_libraries). one_blas_thread() keeps BLAS to one thread while the walker's worker
threads run (each worker calling a multi-threaded BLAS beside the deciding
thread oversubscribes the cores: a Kodak decode took 1.4 s against 1.1 s).
threadpoolctl's limit is process-wide, so it is counted: the first walk to
enter sets it, the last to leave restores what was there, and walks in other
threads (4 decodes at once) neither undo each other's limit nor leave one behind.
"""
from __future__ import annotations

import contextlib
import os
import threading

_STATE = {"threads": None, "blas_users": 0, "blas_limit": None}
_LOCK = threading.Lock()


def configure(threads) -> None:
    """Set the budget for this process (None: back to LINR_THREADS or the cores)."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError("threads must be a positive integer")
    _STATE["threads"] = threads


def chosen():
    """The budget if the caller chose one (configure, LINR_THREADS), else None."""
    if _STATE["threads"] is not None:
        return _STATE["threads"]
    value = os.environ.get("LINR_THREADS", "")
    return int(value) if value.isdigit() and int(value) >= 1 else None


def budget() -> int:
    if chosen() is not None:
        return chosen()
    if hasattr(os, "process_cpu_count"):               # Python 3.13+: the cores this process may use
        return max(1, os.process_cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


BLAS_VARIABLE = "OPENBLAS_NUM_THREADS"


def one_blas_thread_for_the_command(environ) -> None:
    """The console script's first step, before numpy loads OpenBLAS (which reads the variable
    once and starts its workers then): one BLAS thread unless the user chose a count. linr's
    own threads share the cores and its BLAS products are small; OpenBLAS's idle workers spun
    in their wait loop, at numpy's import and each time a walk handed BLAS its threads back
    (one_blas_thread; 2% of kodim05's encode under perf): the encode's CPU time 3.67 -> 3.60
    s, its decode's 0.99 -> 0.89 s (medians of 7 and 5 alternating runs), the same files.
    (threadpoolctl's limit, set after the import, left the decode at 0.98.)"""
    _STATE["user_blas"] = environ.get(BLAS_VARIABLE)
    environ.setdefault(BLAS_VARIABLE, "1")


def user_environment(environ) -> dict:
    """environ without what one_blas_thread_for_the_command added (the bench's timed
    children, run as the user runs them)."""
    env = dict(environ)
    if _STATE.get("user_blas", "unset") is None:
        env.pop(BLAS_VARIABLE, None)
    return env


def limit_libraries(threads: int) -> None:
    """Cap OpenMP pools at `threads` and keep BLAS at one thread for the rest of the process
    (the CLI's --threads; a library caller's process is not linr's to change)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits={"openmp": threads, "blas": 1})


@contextlib.contextmanager
def one_blas_thread():
    with _LOCK:
        if _STATE["blas_users"] == 0:
            try:
                from threadpoolctl import threadpool_limits
                _STATE["blas_limit"] = threadpool_limits(limits=1, user_api="blas")
            except ImportError:
                _STATE["blas_limit"] = None
        _STATE["blas_users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["blas_users"] -= 1
            if _STATE["blas_users"] == 0 and _STATE["blas_limit"] is not None:
                _STATE["blas_limit"].restore_original_limits()
                _STATE["blas_limit"] = None


def map_ordered(fn, items: list) -> list:
    """[fn(x) for x in items], on up to budget() threads (the work must release the GIL to
    gain: the kernels and BLAS do). Results in the items' order, so nothing downstream
    depends on which thread finished first."""
    workers = min(budget(), len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))
