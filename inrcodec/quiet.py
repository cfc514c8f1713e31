"""Libraries kept quiet: a failure is reported once, as a LinrError, not as their lines.

libpng, libtiff and OpenCV print on fd 2 (quiet_stderr); tifffile logs its complaints about
odd files (import_tifffile turns its logger down when it is first imported).
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
