"""The numpy oracle of the decision backend: the tests' reference, never the product.

Each function computes with numpy arrays, in the same integers, what a
compiled kernel (kernels.py) computes one value at a time: pixel_context is
kernels.neighbour_features, decide_chunk / decide_planes are
kernels.code_chunk / code_planes, with exact.Head for the distributions and
adapt.Adapt for the adaptive tables. ORACLE has backend.COMPILED's interface,
so a test can run any walk, encoder or decoder through either and compare.
"""
from __future__ import annotations

import numpy as np

from . import exact, features
from .features import DIFF_LIMIT, Context
from .intmath import bit_length, clip
from .schedule import GRID, NEAR
from .tables import ACT_BITS


def pixel_context(known: np.ndarray, p, ys: np.ndarray, xs: np.ndarray, bits: int, start=None) -> Context:
    """Features of pixels (ys, xs) of pass p; `known` holds every earlier pass's exact values."""
    h, w, c = known.shape
    n = len(ys)
    if p.kind == GRID:
        return features.grid_context(p, ys, xs, bits, c, h, w)
    vals = known.reshape(h * w, c)[features.neighbour_index(p, ys, xs, h, w)].astype(np.int64)  # 12 x N x C
    anchor = vals[:NEAR].sum(axis=0) >> 2
    d = vals - anchor[None]
    g = np.abs(d).sum(axis=(0, 2)) // (12 * c)
    shift = bit_length(g)
    diffs = clip((d << ACT_BITS) >> shift[None, :, None], -DIFF_LIMIT, DIFF_LIMIT)
    diffs = diffs.transpose(1, 0, 2).reshape(n, 12 * c)
    return features.assemble(diffs, anchor, shift, p, ys, xs, bits, h, w)


def decide_chunk(head, const: np.ndarray, decide) -> np.ndarray:
    """Every decision of one chunk: channel by channel, each channel's
    distribution from the trunk's outputs and the channels before it;
    `decide(c, k, b)` gives the coded bits of plane b."""
    values = np.empty((len(head.shift), head.channels), np.int64)
    for c in range(head.channels):
        mu = head.mean(c)
        dist = head.distribution(c)
        values[:, c] = decide_planes(head, c, mu, dist, const[:, c], lambda k, b, c=c: decide(c, k, b))
        head.set_value(c, values[:, c], mu)
    return values


def decide_planes(head, c: int, mu: tuple, dist, const_c: np.ndarray, decide) -> np.ndarray:
    """Channel c's planes: the value is narrowed to [lo, lo + 2**(b+1)) plane by
    plane, and `decide(k, b)` gives the bits of plane b's coded decisions, whose
    probabilities the adaptive tables refine (format 3) and then learn from."""
    n, count = head.bits, len(head.shift)
    lo = np.zeros(count, np.int64)
    f_lo = np.zeros(count, np.int64)
    f_hi = np.full(count, exact.CDF_ONE, np.int64)
    for b in range(n - 1, -1, -1):
        mid = lo + (1 << b)
        f_mid = head.cdf(mid, mu, dist)
        if const_c[b] >= 0:
            bit = np.full(count, const_c[b], bool)
        else:
            k = exact.bit_probability(f_lo, f_mid, f_hi)
            if head.adapt is None:
                bit = decide(k, b).astype(bool)
            else:
                k, cells = head.adapt.refine(c, b, k)
                bit = decide(k, b).astype(bool)
                head.adapt.learn(c, b, cells, bit)
        np.copyto(lo, mid, where=bit)
        np.copyto(f_lo, f_mid, where=bit)
        np.copyto(f_hi, f_mid, where=~bit)
    return lo


class Oracle:
    """backend.Compiled's interface over the numpy functions above."""
    name = "oracle"

    def features(self, known, p, ys, xs, bits: int, start=None) -> Context:
        return pixel_context(known, p, ys, xs, bits)

    def chunk(self, rows, bits: int, const: np.ndarray, adapt, sink, ys, xs) -> np.ndarray:
        head = exact.Head(*rows, bits)
        head.adapt = adapt
        if sink.from_image:
            truth = sink.truth(ys, xs)

            def from_image(c, k, b):
                bit = (truth[:, c] >> b) & 1
                sink.record_rows(bit[None], k[None])
                return bit
            decide_chunk(head, const, from_image)
            return truth

        def from_stream(c, k, b):
            sink.check(sink.spend(len(k)))
            return sink.ans().pop(k)
        return decide_chunk(head, const, from_stream)


ORACLE = Oracle()
