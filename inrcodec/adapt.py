"""Adaptive refinement of the network's bit probabilities (format 3).

Secondary estimation, as context-mixing coders do it: for every coded
decision, the network's probability k (P1 * 2**16) is looked up in a table
of the decision's context (its channel and bit-plane) that learns, from the
decisions already coded in this image, how often a 1 really follows such a k;
the coder uses the mean of k and the table's answer (3/4 of the table's once
it has learnt enough). The tables cost no
header bytes: encoder and decoder update them identically, in integers,
after every batch (one plane of one channel of a chunk), so every decision of
a batch sees the same tables and a batch stays one vector operation.

A table has BUCKETS cells at probabilities spaced evenly in the logistic
domain, from 2**-8 (about e**-8) to 1 - that: cell i sits at
k = EDGES[i] = CDF[2048 + 128 i] >> 14 (the format's logistic table). A k
between cells i and i + 1 reads both, weighted linearly, and a decision's bit
is learnt by both cells with the same weights. A cell holds the probability
of a 1 (2**22 units, starting at its own k: the identity) and the weight it
has learnt from, capped at COUNT_LIMIT so it keeps adapting.

Measured at default options on validation photographs: 1.35% smaller on
128x128 crops, 1.7% on 768x512 images; on the Kodak test set only 0.3% on
crops and nothing at full size (README, "What each change bought").
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .exact import K_MAX, K_MIN
from .intmath import clip
from .tables import PROB_BITS, cdf_table

BUCKETS = 33
CELL_WEIGHT_BITS = 12               # interpolation weights: 2**12 = one decision
CELL_BITS = 22                 # a cell's probability: 2**22 = certainly 1
COUNT_LIMIT = 255 << CELL_WEIGHT_BITS
PRIOR_WEIGHT = 1 << (CELL_WEIGHT_BITS - 1)   # a cell's own value counts as half a decision more


@lru_cache(maxsize=None)
def edges() -> np.ndarray:
    """The cells' probabilities k (2**16 units), increasing."""
    out = cdf_table()[2048 + 128 * np.arange(BUCKETS)].astype(np.int64) >> (30 - PROB_BITS)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def cell_index() -> np.ndarray:
    """For every k in [K_MIN, K_MAX] (other rows unused): the cell i below it
    and its weight f towards cell i + 1 (refine's and the kernels' lookup: no
    search, no division per decision)."""
    e = edges()
    k = np.clip(np.arange(1 << PROB_BITS, dtype=np.int64), K_MIN, K_MAX)
    i = np.clip(np.searchsorted(e, k, side="right") - 1, 0, BUCKETS - 2)
    f = ((k - e[i]) << CELL_WEIGHT_BITS) // (e[i + 1] - e[i])
    out = np.stack([i, f], axis=1).astype(np.int64)
    out.flags.writeable = False
    return out


class Adapt:
    """The tables of one image: one per channel and bit-plane."""

    def __init__(self, channels: int, bits: int):
        self.bits = bits
        self.prob = np.tile(edges() << (CELL_BITS - PROB_BITS), (channels * bits, 1))
        self.count = np.zeros((channels * bits, BUCKETS), np.int64)

    def copy(self) -> "Adapt":
        out = Adapt.__new__(Adapt)
        out.bits, out.prob, out.count = self.bits, self.prob.copy(), self.count.copy()
        return out

    def refine(self, c: int, b: int, k: np.ndarray):
        """The coder's k for decisions of channel c, plane b whose network k is `k`
        (all in [K_MIN, K_MAX]): the mean of k and the table's value a, or
        (k + 3a) / 4 where both cells read have learnt all they count
        (COUNT_LIMIT), rounded, clipped to [K_MIN, K_MAX]. Returns (k, cells)
        to hand to learn()."""
        i, f = cell_index()[k].T
        row = c * self.bits + b
        t, n = self.prob[row], self.count[row]
        a = (t[i] * ((1 << CELL_WEIGHT_BITS) - f) + t[i + 1] * f) >> (CELL_WEIGHT_BITS + CELL_BITS - PROB_BITS)
        sure = (n[i] == COUNT_LIMIT) & (n[i + 1] == COUNT_LIMIT)
        out = np.where(sure, (k + 3 * a + 2) >> 2, (k + a + 1) >> 1)
        return clip(out, K_MIN, K_MAX), (i, f)

    def learn(self, c: int, b: int, cells, bit: np.ndarray) -> None:
        """Update channel c, plane b's table with a batch's decisions."""
        i, f = cells
        g = (1 << CELL_WEIGHT_BITS) - f
        one = bit.astype(bool)
        # weights summed per cell: integers below 2**53, exact in float64
        sw = (np.bincount(i, g, BUCKETS) + np.bincount(i + 1, f, BUCKETS)).astype(np.int64)
        sy = (np.bincount(i[one], g[one], BUCKETS) + np.bincount(i[one] + 1, f[one], BUCKETS)).astype(np.int64)
        row = c * self.bits + b
        t, n = self.prob[row], self.count[row]
        seen = sw > 0
        t[seen] = (t[seen] * (n[seen] + PRIOR_WEIGHT) + (sy[seen] << CELL_BITS)) \
            // (n[seen] + PRIOR_WEIGHT + sw[seen])
        np.minimum(n + sw, COUNT_LIMIT, out=n)
