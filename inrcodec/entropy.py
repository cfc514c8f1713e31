"""Entropy coding with constriction's ANS coder.

One ANS stream per file holds the weight delta symbols, then every bit of the
image. Models reach the coder as exactly representable float64 values built
from integers (bits: k / 2**16; weights: a two-sided geometric pmf computed in
integer arithmetic), always with perfect=False, so both sides quantise them
identically.
"""
from __future__ import annotations

import constriction
import numpy as np

from .errors import FormatError
from .tables import PROB_BITS

_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)
GEOM_RATIOS = (64, 128, 176, 208, 224, 236, 244, 249, 252, 254, 255)   # r = R / 256
MAX_SYMBOL = 1 << 20


def geometric_pmf(max_abs: int, ratio: int) -> np.ndarray:
    """pmf over [-max_abs, max_abs], proportional to (ratio/256)**|k|, built in integers."""
    w = np.empty(max_abs + 1, np.int64)
    v = 1 << 40
    for k in range(max_abs + 1):
        w[k] = max(v, 1)
        v = (v * ratio) >> 8
    full = np.concatenate([w[:0:-1], w]).astype(np.float64)
    return full / full.sum()


def geometric_cost(q: np.ndarray, ratio: int) -> float:
    m = int(np.abs(q).max()) if q.size else 0
    pmf = geometric_pmf(m, ratio)
    return float(-np.log2(pmf[q + m]).sum())


def best_ratio(q: np.ndarray) -> int:
    return min(GEOM_RATIOS, key=lambda r: geometric_cost(q, r))


class StreamWriter:
    """Collects what is to be coded in decoding order, then codes it all."""

    def __init__(self):
        self._parts = []

    def ints(self, q: np.ndarray, ratio: int) -> None:
        m = int(np.abs(q).max()) if q.size else 0
        self._parts.append(("cat", q.ravel().astype(np.int32) + m, geometric_pmf(m, ratio)))

    def bits(self, bits: np.ndarray, p1: np.ndarray) -> None:
        self._parts.append(("bit", bits.ravel().astype(np.int32),
                            p1.ravel().astype(np.float64) / (1 << PROB_BITS)))

    def finish(self) -> bytes:
        coder = constriction.stream.stack.AnsCoder()
        for kind, sym, prm in reversed(self._parts):     # ANS is a stack
            if kind == "bit":
                coder.encode_reverse(sym, _BERNOULLI, prm)
            else:
                coder.encode_reverse(sym, constriction.stream.model.Categorical(prm, perfect=False))
        return coder.get_compressed().astype("<u4").tobytes()


class StreamReader:
    def __init__(self, data: bytes):
        if len(data) % 4:
            raise FormatError("coded stream is not a whole number of 32-bit words")
        words = np.frombuffer(data, "<u4").astype(np.uint32)
        if words.size and words[-1] == 0:
            raise FormatError("coded stream is corrupt")
        try:
            self._coder = constriction.stream.stack.AnsCoder(words)
        except Exception:
            raise FormatError("coded stream is corrupt") from None

    def ints(self, count: int, max_abs: int, ratio: int) -> np.ndarray:
        model = constriction.stream.model.Categorical(geometric_pmf(max_abs, ratio), perfect=False)
        return self._coder.decode(model, count).astype(np.int64) - max_abs

    def bits(self, p1: np.ndarray) -> np.ndarray:
        if p1.size == 0:
            return np.zeros(p1.shape, np.int64)
        probs = p1.ravel().astype(np.float64) / (1 << PROB_BITS)
        return self._coder.decode(_BERNOULLI, probs).astype(np.int64).reshape(p1.shape)

    def check_end(self) -> None:
        # a well-formed stream is fully consumed, back to the coder's initial state
        if not self._coder.is_empty():
            raise FormatError("coded stream has data left over (corrupt file)")
