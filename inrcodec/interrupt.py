"""Ctrl-C between the compiled kernels, never inside one.

A SIGINT that Python turns into KeyboardInterrupt while a library is in C
code that calls back into Python (torch, a JIT dispatcher) can surface as a
SystemError, or be swallowed. With
deferred() active (the CLI holds it while it codes a file in its own process;
waiting on worker processes it keeps Python's own handling), the signal only
sets a flag; the long loops call check() between kernel
calls (the walker per chunk, fitting per step), which raises
KeyboardInterrupt from plain Python. Without it (library callers), check()
costs a dictionary lookup and changes nothing.
"""
from __future__ import annotations

import contextlib
import signal
import threading

_STATE = {"pending": False, "active": False}


def check() -> None:
    """Raise KeyboardInterrupt if a deferred SIGINT arrived."""
    if _STATE["pending"]:
        _STATE["pending"] = False
        raise KeyboardInterrupt


def _note(signum, frame) -> None:
    _STATE["pending"] = True


def noted() -> None:
    """From now on SIGINT only sets the flag check() reads, until another handler is installed:
    the command's start-up (entry.py), whose imports run C code that may clear a
    KeyboardInterrupt raised inside it, losing the Ctrl-C."""
    signal.signal(signal.SIGINT, _note)


@contextlib.contextmanager
def deferred():
    """SIGINT sets a flag that check() turns into KeyboardInterrupt (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, _note)
    _STATE["active"] = True
    try:
        yield
        check()                                  # one that came during the last kernel call
    finally:
        _STATE["active"] = False
        signal.signal(signal.SIGINT, old)
