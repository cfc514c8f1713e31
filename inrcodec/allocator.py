"""The command line's memory allocator settings (glibc): freed blocks are kept for reuse.

A decode allocates and frees arrays of the same sizes chunk after chunk (features,
the trunk's layers: 6 MB for a slice of 8192 pixels). glibc serves blocks above its
mmap threshold with fresh pages, which the kernel zeroes on first touch, and gives
back the heap's free top above its trim threshold: each chunk faulted its pages in
again. With the thresholds below (`linr decode`, alternating with and without, this
2-core machine, 3 runs each): kodim05 1.26-1.35 -> 1.20-1.26 s; the 6000x4000 decode
44.7 -> 43.1 s (set from the environment), peak RSS 337 -> 392 MB. Only the CLI sets
them: a library caller's process is not linr's to tune. linr 0.14.2 raised both to 256 MiB
(from 64 and 128): `perf record` of kodim05's encode put 5-8% of its samples in the kernel's
page clearing (clear_page_erms, under huge-page faults of blocks above 64 MiB, mmapped afresh
each time), 0.35% after; the encode 2.03 -> 1.92 s (medians of 11 runs alternating), its decode
and a 128x128 encode the same; the 6000x4000 photograph's encode peaked at 0.79 GB instead of
0.62 GB, its decode at 366 MB instead of 395 MB.
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 256 << 20       # blocks below this come from the heap and are reused
TRIM_THRESHOLD = 256 << 20       # free heap kept before any is given back


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is
    no glibc mallopt (other systems, musl) or it refused."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
