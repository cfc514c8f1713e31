"""Libraries kept quiet: a failure is reported once, as a LinrError, not as their lines.

libpng, libtiff and OpenCV print on fd 2 (quiet_stderr); tifffile logs its complaints about
odd files (import_tifffile turns its logger down when it is first imported). And progress
kept readable: line_progress turns fitting's tqdm bars into lines when stderr is not a
terminal.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager

_lock = threading.RLock()


@contextmanager
def quiet_stderr():
    """Silence whatever C libraries print on fd 2 inside (one thread at a time)."""
    with _lock:
        saved = devnull = None
        try:
            try:
                sys.stderr.flush()
            except Exception:
                pass
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
        except OSError:
            pass
        try:
            yield
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            if devnull is not None:
                os.close(devnull)


def import_tifffile():
    """The tifffile module, its logging silenced; ImportError when it is not installed."""
    import tifffile
    logging.getLogger("tifffile").setLevel(logging.CRITICAL)
    return tifffile


class _LineBar:
    """tqdm's interface as fitting uses it (update, set_postfix, close), written as lines:
    one at each eighth of the steps and one at the end, `linr: PREFIX: DESC: step N/TOTAL, X bpp`."""

    def __init__(self, prefix: str, total=None, desc: str = "", **_ignored):
        self.prefix, self.desc = prefix, desc
        self.total, self.n, self.said = int(total or 0), 0, 0
        self.every = max(1, self.total // 8)
        self.postfix, self.pending = "", False

    def update(self, n: int = 1) -> None:
        before, self.n = self.n, self.n + n
        if self.n // self.every != before // self.every or self.n == self.total:
            self.pending = True

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{v} {k}" for k, v in values.items())
        if self.pending:
            self._say()

    def close(self) -> None:
        if self.n and self.n != self.said:          # the last step (or an early stop)
            self._say()

    def _say(self) -> None:
        self.pending, self.said = False, self.n
        where = f"{self.desc}: " if self.desc else ""
        line = f"linr: {self.prefix}: {where}step {self.n}/{self.total}" + (
            f", {self.postfix}" if self.postfix else "")
        try:
            print(line, file=sys.stderr, flush=True)
        except Exception:
            pass


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


@contextmanager
def line_progress(prefix: str, shown: bool = True):
    """While inside, the progress bars fitting makes (tqdm) are lines on stderr when stderr is
    not a terminal (a log, a pipe, CI), where tqdm would print nothing; on a terminal they stay
    bars. One thread at a time (the command line's). shown=False (no bars asked for): nothing
    to do, and tqdm is not imported (15 ms of a command)."""
    if not shown or _is_terminal(sys.stderr):
        yield
        return
    try:
        import tqdm as module
    except ImportError:
        yield
        return
    saved = module.tqdm

    def bar(*args, **kwargs):
        return _LineBar(prefix, *args, **kwargs)
    module.tqdm = bar
    try:
        yield
    finally:
        module.tqdm = saved
