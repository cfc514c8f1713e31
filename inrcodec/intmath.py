"""Integer helpers at the bottom of the package: every other module may import these.

Exact on every machine: values are int64 and every float64 step below holds
an exact integer.
"""
from __future__ import annotations

import numpy as np


def bit_length(v: np.ndarray) -> np.ndarray:
    """Number of binary digits of non-negative int64 values (0 for 0), exactly.

    frexp's exponent is the bit length of a positive integer whose float64
    conversion is exact, i.e. below 2**53 (all callers' values are far below)."""
    v = np.asarray(v, np.int64)
    if v.size and int(v.max()) >= 1 << 53:
        raise ValueError("bit_length: value too large")
    return np.frexp(v.astype(np.float64))[1].astype(np.int64)


def clip(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """np.clip in place, without its per-call overhead (the walker calls this
    a few times per chunk and channel: thousands of times for small images)."""
    np.maximum(a, lo, out=a)
    return np.minimum(a, hi, out=a)
