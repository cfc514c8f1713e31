"""What the command line runs for each file, here or in worker processes.

A module of its own, not cli: a worker finds these functions by their module's name, and
`python -m inrcodec.cli` runs the command line as __main__.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

from .errors import LinrError

# What a bad input or output raises (exit code 1); any other exception is a bug (3).
USER_ERRORS = (LinrError, MemoryError, OSError)


def encode_job(src, options):
    """One input's .linr bytes, its pixel count, and the warnings raised making them (run
    here or in a worker process)."""
    from .imageio import encode_image_file
    with recorded_warnings() as caught:
        data, image = encode_image_file(src, **options)
    return data, image.shape[0] * image.shape[1], caught


def decode_job(src, dst, options):
    """One input's output file bytes, the image's shape, and the warnings raised."""
    from .imageio import decode_linr_file
    with recorded_warnings() as caught:
        out, image = decode_linr_file(src, dst, **options)
    return out, image.shape, caught


@contextmanager
def recorded_warnings():
    """The messages of the warnings raised inside, as a list (filled on the way out); on an
    error they go with it (exc.warnings), to be printed even though the file failed."""
    messages = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        except Exception as exc:
            exc.warnings = [str(w.message) for w in caught]
            raise
        messages += [str(w.message) for w in caught]


def run_each(job, calls: list, jobs):
    """(args, result, None) or (args, None, error) for each call of job, in order, each as
    soon as it (and those before it) is done. A user's error (USER_ERRORS) is that call's; any other
    exception ends the run. One call or one job: in this process; else in worker processes
    set up as batch sets up its own (forkserver, one thread each, Ctrl-C left to this one)."""
    from . import interrupt, threads
    workers = min(jobs or threads.budget(), len(calls))
    if workers <= 1:
        for args in calls:
            try:
                with interrupt.deferred():       # Ctrl-C between the codec's kernel calls
                    result = job(*args)
            except USER_ERRORS as exc:
                yield args, None, exc
            else:
                yield args, result, None
        return
    from collections import deque

    from . import batch
    pool = batch.worker_pool(workers, preload=[__name__, "inrcodec.imageio"])
    pending, todo, finished = deque(), iter(calls), False
    try:
        while True:
            # a few calls ahead of the one awaited, not all: results wait in memory until written
            while len(pending) < 2 * workers:
                args = next(todo, None)
                if args is None:
                    break
                pending.append((args, pool.submit(job, *args)))
            if not pending:
                break
            args, future = pending.popleft()
            try:
                yield args, future.result(), None
            except USER_ERRORS as exc:
                yield args, None, exc
        finished = True
    finally:
        if not finished:
            # an error or Ctrl-C: stop the workers (they ignore SIGINT; a large image takes minutes)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
        pool.shutdown(wait=True, cancel_futures=not finished)
