"""Compiled kernels (numba) for the walker's inner loops.

Per chunk the walker turns the trunk's outputs into each channel's
distribution, then decides n bit-planes per channel, each a batch of binary
decisions whose probabilities come from the head's CDF (`exact.Head`,
`exact.bit_probability`), and records each channel's residual for the next.
In numpy that is some 30 array passes a plane plus one ANS call; here it is
one compiled call a chunk, with the ANS decoding inside it, and one for a
pass's neighbour features. The arithmetic is the same int64 arithmetic, step
for step (arithmetic right shifts, floor division of non-negative numbers),
so the integers are the same as the numpy path's: tests compare both on
random inputs, on every conformance vector and across processes.

The ANS decoder follows constriction's AnsCoder<u32, u64> with
Bernoulli(perfect=False) models, as written out in formats/reference/RANS.md:
  cdf1 = ((65536 - k) * (2**24 - 2) >> 16) + 1;  q = state mod 2**24;
  bit = q >= cdf1;  state = (state >> 24) * freq(bit) + q - start(bit);
  refill one 32-bit word from the end while words remain and state < 2**32.

numba is imported lazily (see MIN_DECISIONS), and without numba everything
still works through numpy. LINR_KERNEL=numpy forces the numpy path,
LINR_KERNEL=numba the kernels whatever the size (tests, benchmarks).
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np


# Loading numba and its cached kernels costs about 0.7 s once per process
# (numba's own start-up, most of it); they save about 0.1 us per decision
# (full Kodak in one process: 1.5-2.0 s -> 0.9 s for 9.4 M decisions). A
# single image with fewer decisions than this goes through numpy unless the
# kernels are loaded already (encoder, batches). Loading them in a background
# thread while numpy starts was measured slower: both need the GIL.
MIN_DECISIONS = 1 << 24


def _mode() -> str:
    return os.environ.get("LINR_KERNEL", "auto")


def wanted(decisions: int) -> bool:
    """Whether the walker should use the kernels for an image of `decisions`
    coded bits (loading them if that pays)."""
    mode = _mode()
    if mode == "numpy":
        return False
    if mode == "auto" and decisions < MIN_DECISIONS and not ready():
        return False
    return preload()


def ready() -> bool:
    """Whether the kernels are loaded and not switched off."""
    return _STATE["kernels"] is not None and _mode() != "numpy"


def preload() -> bool:
    """Load the kernels now (encoder, batches of images); False without numba."""
    return _mode() != "numpy" and _kernels() is not None


_STATE = {"kernels": None, "tried": False}
_LOCK = threading.Lock()


def _kernels():
    with _LOCK:
        if not _STATE["tried"]:
            _STATE["tried"] = True
            try:
                _STATE["kernels"] = _compile()
            except (ImportError, OSError):       # no numba, or its LLVM library fails to load
                _STATE["kernels"] = None
    return _STATE["kernels"]


class AnsState:
    """The decoder's ANS state handed over from constriction: the words not
    yet consumed (a stack, popped from the end) and the 64-bit state."""

    def __init__(self, words: np.ndarray):
        self.words = np.ascontiguousarray(words, np.uint32)
        left, state = len(self.words), 0
        while state < (1 << 32) and left:                  # at most two words (RANS.md)
            state = (state << 32) | int(self.words[left - 1])
            left -= 1
        self.regs = np.array([state, left], np.uint64)      # state, words not yet read

    def empty(self) -> bool:
        return int(self.regs[0]) == 0


# error codes of the decode kernels
OK, EMPTY, OVER_BUDGET = 0, 1, 2


def decode_chunk(head, const: np.ndarray, ans: AnsState, budget: np.ndarray):
    """Values (N x C) of a chunk decoded from the ANS stream, every channel and
    plane in the walker's order; returns (values, error code). `budget`
    (int64[1]) is reduced by each coded plane's decisions."""
    return _kernels().decode_chunk(head.out, head.anchor, head.shift, head.bits, const, *_tables(),
                                   ans.words, ans.regs, budget, *_adapt_tables(head))


def chunk_decisions(head, const: np.ndarray, truth: np.ndarray):
    """Encoder side: (bits, k) rows (uint8, uint16) of a chunk's coded planes,
    channel by channel, MSB first, for the known values truth (N x C)."""
    return _kernels().chunk_decisions(head.out, head.anchor, head.shift, head.bits, const, *_tables(),
                                      truth, *_adapt_tables(head))


def neighbour_features(flat, idx, bits, xs, ys, width, height, bits_col, level_col, kind_col):
    """features.pixel_context's (feats, anchor, shift) for a pass with neighbours."""
    return _kernels().neighbour_features(flat, idx, bits, xs, ys, width, height, bits_col,
                                         level_col, kind_col)


def decode_bits(k: np.ndarray, ans: AnsState) -> np.ndarray:
    """A few decisions with P1 = k / 2**16 (the terminator), by the kernel's own
    Python source: compiling or loading it would cost more than it runs."""
    pop_bit = _kernels().pop_bit.py_func
    return np.array([pop_bit(int(x), ans.words, ans.regs) for x in np.asarray(k).ravel()], np.int64)


_NO_TABLES = np.zeros((0, 1), np.int64)


def _adapt_tables(head) -> tuple:
    """The adaptive tables' arrays (prob, count, cell index), prob and count
    updated in place by the kernels; rows-less arrays for format 2."""
    from .adapt import cell_index
    if head.adapt is None:
        return _NO_TABLES, _NO_TABLES, cell_index()
    return head.adapt.prob, head.adapt.count, cell_index()


@lru_cache(maxsize=None)
def _tables() -> tuple:
    """The head's tables as int64: inverse scale, CDF, CDF padded for interpolation."""
    from .exact import _cdf_padded
    from .tables import cdf_table, inv_scale_table
    return (inv_scale_table().astype(np.int64), cdf_table().astype(np.int64),
            _cdf_padded().astype(np.int64))


def _compile():
    from . import _numba_kernels
    return _numba_kernels
