"""The numpy oracle of the decision backend: the tests' reference, never the product.

Each function computes with numpy arrays, in the same integers, what a
compiled kernel (kernels.py) computes one value at a time: pixel_context is
kernels.neighbour_features, decide_chunk / decide_planes are
kernels.code_chunk / code_planes, with exact.Head for the distributions and
adapt.Adapt for the adaptive tables. ORACLE has backend.COMPILED's interface,
so a test can run any walk, encoder or decoder through either and compare.
Format 5's mixing (mixing.Mixer) learns after every decision, so its oracle,
MixedPlane, goes one decision at a time in plain Python integers.
"""
from __future__ import annotations

import numpy as np

from . import exact, features, mixing
from .features import DIFF_LIMIT, Context
from .intmath import bit_length, clip
from .schedule import GRID, NEAR
from .tables import ACT_BITS, PROB_BITS


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
    return features.assemble(diffs, anchor, shift, mix_context(vals, anchor, p.kind),
                             mixing.pack_near(vals[:NEAR]), p, ys, xs, bits, h, w)


def mix_context(vals: np.ndarray, a: np.ndarray, kind: int) -> np.ndarray:
    """kernels' mix_context: the packed mixing contexts (N x C) from the 12 x N x C
    neighbour values and their anchors a."""
    d03, d12 = np.abs(vals[0] - vals[3]), np.abs(vals[1] - vals[2])
    act = d03 + d12 + (np.abs(vals[NEAR:] - a[None]) >> 1).sum(axis=0)
    qa = np.minimum(bit_length(act >> 1), 15)
    pd = np.where(2 * d03 < d12, (vals[0] + vals[3]) >> 1, np.where(2 * d12 < d03, (vals[1] + vals[2]) >> 1, a))
    tex = ((vals[:NEAR] > a[None]).astype(np.int64) << np.arange(NEAR)[:, None, None]).sum(axis=0)
    return mixing.pack_context(a, pd, qa, tex, kind)


def qs(e: int, cap: int) -> int:
    """The signed log bucket of the mixing contexts (2 per octave above 3), clipped to +-cap."""
    m = abs(e)
    q = m if m < 4 else 2 * m.bit_length() - 2 + ((m >> (m.bit_length() - 2)) & 1)
    q = min(q, cap)
    return -q if e < 0 else q


class MixedPlane:
    """One plane of one channel of a chunk under mixing (format 5), a decision at
    a time: k(i, k_net, lo) is the coder's probability of pixel i's decision,
    learn(i, bit) updates the mixer and the counters that k read."""

    def __init__(self, mixer, c: int, b: int, context: np.ndarray, near: np.ndarray, pic: list, rq: list):
        self.m, self.c, self.b, self.context, self.nearest, self.pic, self.rq = mixer, c, b, context, near, pic, rq
        cb = c * mixer.bits + b
        self.cb = cb
        self.k_lo, self.k_hi = clamp_of(mixer)
        self.lr = mixing.RATE_LO + (mixing.RATE_HI - mixing.RATE_LO) * mixing.RATE_HALF \
            // (mixing.RATE_HALF + int(mixer.seen[cb]))
        self.stretch, self.squash, self.rates = mixing.stretch(), mixing.squash(), mixing.rates()

    def k(self, i: int, k_net: int, lo: int) -> int:
        m, b = self.m, self.b
        a, pd, qa, tex, kind = (int(v) for v in mixing.unpack_context(self.context[i, self.c]))
        mid = lo + (1 << b)
        plane = self.cb * mixing.PLANE_CELLS
        self.at = [
            (m.prefix, (self.c << m.bits) + ((1 << (m.bits - 1 - b)) | (lo >> (b + 1)))),
            (m.cells, plane + (qs(a - mid, 31) + 31) * 16 + qa),
            (m.cells, plane + mixing.ANCHOR_CELLS + (qs(self.pic[i] - mid, 31) + 31) * 200
             + (self.rq[i] + 12) * 8 + (qa >> 1)),
            (m.cells, plane + mixing.ANCHOR_CELLS + mixing.CHANNEL_CELLS + (qs(pd - mid, 8) + 8) * 48
             + tex * 3 + kind),
        ]
        self.x = [int(self.stretch[(int(t[j]) >> 8) >> (mixing.COUNTER_BITS - PROB_BITS)])
                  if int(t[j]) & 255 else 0 for t, j in self.at]
        self.x += [int(self.stretch[k_net]), mixing.BIAS, 0]      # formats 5-8: no match input
        if m.matched:                       # format 9: the match counter
            self.at.append((m.match, self.cb * mixing.MATCH_CELLS + kind * 81
                            + mixing.match_context(int(self.nearest[i, self.c]), lo, b)))
            t, j = self.at[-1]
            self.x[mixing.MATCH_INPUT] = (int(self.stretch[(int(t[j]) >> 8) >> (mixing.COUNTER_BITS - PROB_BITS)])
                                          if int(t[j]) & 255 else 0)
        sets = mixing.WEIGHT_SETS if m.refined else 1
        self.w = m.weights[self.cb * sets + (qa >> 2 if m.refined else 0)]
        dot = sum(int(w) * x for w, x in zip(self.w, self.x)) >> mixing.WEIGHT_BITS
        st = min(max(dot, -mixing.ST_LIMIT), mixing.ST_LIMIT)
        self.p = self.p1 = int(self.squash[st + mixing.ST_LIMIT])
        if m.second:                        # format 11: the second mixer, then the final one
            st = self.second(i, st, lo)
        if not m.refined:
            return min(max(self.p, self.k_lo), self.k_hi)
        # format 8: two SSE rows, read between knots j and j + 1 of the stretched mix
        j, f = (st + mixing.ST_LIMIT + 1) >> 8, (st + mixing.ST_LIMIT + 1) & 255
        rows = self.cb * mixing.SSE_ROWS
        self.sse = [(rows + qa) * mixing.SSE_KNOTS + j, (rows + 16 + qs(a - mid, 7) + 7) * mixing.SSE_KNOTS + j]
        refined = [((int(m.sse[at]) >> 8) * (256 - f) + (int(m.sse[at + 1]) >> 8) * f) >> 14 for at in self.sse]
        self.near = f >> 7                  # each row learns at the knot nearer the mix
        self.coded = min(max((2 * self.p + sum(refined)) >> 2, self.k_lo), self.k_hi)
        return self.coded

    def second(self, i: int, st1: int, lo: int) -> int:
        """Format 11's second mixer, its weight set chosen by the network's confidence and the
        nearest neighbours agreeing with lo, and the final mixer of the two; the final stretch."""
        m, b, lim = self.m, self.b, mixing.ST_LIMIT
        xn = abs(self.x[mixing.NET_INPUT])
        conf = sum(xn >= t for t in mixing.CONFIDENCE_BOUNDS)
        agree = sum(agrees for _, agrees in mixing.agreeing(self.nearest[i, self.c], lo, b))
        self.w2 = m.weights2[self.cb * mixing.SECOND_SETS + conf * 5 + agree]
        st2 = min(max(sum(int(w) * x for w, x in zip(self.w2, self.x)) >> mixing.WEIGHT_BITS, -lim), lim)
        self.p2, self.st12, self.fw = int(self.squash[st2 + lim]), (st1, st2), m.final[self.cb]
        st = min(max((int(self.fw[0]) * st1 + int(self.fw[1]) * st2) >> mixing.WEIGHT_BITS, -lim), lim)
        self.p = int(self.squash[st + lim])
        return st

    def learn(self, bit: int) -> None:
        if self.m.second and (self.coded if bit else (1 << PROB_BITS) - self.coded) >= self.k_hi:
            return                          # format 11: settled at the clamp, nothing learnt
        mixers = [(self.w, self.p1)] + ([(self.w2, self.p2)] if self.m.second else [])
        for w, p in mixers:                 # each mixer learns from its own mix
            err = ((bit << PROB_BITS) - p) * self.lr
            for q, x in enumerate(self.x):
                w[q] = min(max(int(w[q]) + ((x * err) >> mixing.ERROR_SHIFT), -mixing.WEIGHT_LIMIT),
                           mixing.WEIGHT_LIMIT)
        if self.m.second:                   # the final mixer, from the final mix
            err = ((bit << PROB_BITS) - self.p) * mixing.FINAL_RATE
            for q, s in enumerate(self.st12):
                self.fw[q] = min(max(int(self.fw[q]) + ((s * err) >> mixing.ERROR_SHIFT), 0), mixing.FINAL_LIMIT)
        learning = self.at + [(self.m.sse, at + self.near) for at in self.sse] if self.m.refined else self.at
        for t, j in learning:
            p, n = int(t[j]) >> 8, int(t[j]) & 255
            p += (((bit << mixing.COUNTER_BITS) - p) * int(self.rates[n])) >> 16
            t[j] = p * 256 + min(n + 1, mixing.COUNT_MAX)


def clamp_of(learner) -> tuple:
    """The bounds of a pixel decision's k, the network's and the coded one (format 13: fine)."""
    if isinstance(learner, mixing.Mixer) and learner.fine:
        return exact.FINE_K_MIN, exact.FINE_K_MAX
    return exact.K_MIN, exact.K_MAX


def channel_predictors(context: np.ndarray, values: np.ndarray, c: int) -> tuple:
    """The inter-channel predictor pic and error bucket rq of channel c, per pixel:
    pd corrected by the earlier channels' errors (value - pd) at the pixel."""
    pd = mixing.unpack_context(context)[1]
    err = values - pd
    r = (np.zeros(len(pd), np.int64) if c == 0 else err[:, 0] if c == 1
         else (err[:, 1] + err[:, 0]) >> 1 if c == 2 else err[:, 2])
    return [int(v) for v in pd[:, c] + r], [qs(int(v), 12) for v in r]


def decide_chunk(head, const: np.ndarray, decide) -> np.ndarray:
    """Every decision of one chunk: channel by channel, each channel's
    distribution from the trunk's outputs and the channels before it;
    `decide(c, k, b)` gives the coded bits of plane b (k: the coder's
    probabilities, or a MixedPlane to ask decision by decision)."""
    values = np.zeros((len(head.shift), head.channels), np.int64)
    for c in range(head.channels):
        if isinstance(head.adapt, mixing.Mixer):
            head.predictors = channel_predictors(head.mix, values, c)
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
            k = exact.bit_probability(f_lo, f_mid, f_hi, *clamp_of(head.adapt))
            if isinstance(head.adapt, mixing.Mixer):
                plane = MixedPlane(head.adapt, c, b, head.mix, head.near, *head.predictors)
                plane.ks, plane.lo = k, lo
                bit = decide(plane, b).astype(bool)
                head.adapt.seen[plane.cb] += count
            elif head.adapt is None:
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

    def trunk(self, cfg, weights, feats: np.ndarray) -> np.ndarray:
        return exact.trunk(cfg, weights, feats)

    def chunk(self, rows, bits: int, const: np.ndarray, learner, sink, ys, xs) -> np.ndarray:
        head = exact.Head(*rows[:3], bits)
        head.adapt, head.mix, head.near = learner, rows[3], rows[4]
        if sink.from_image:
            truth = sink.truth(ys, xs)

            def from_image(c, k, b):
                bit = (truth[:, c] >> b) & 1
                if isinstance(k, MixedPlane):
                    ks = np.empty(len(bit), np.int64)
                    for i in range(len(bit)):
                        ks[i] = k.k(i, int(k.ks[i]), int(k.lo[i]))
                        k.learn(int(bit[i]))
                    k = ks
                sink.record_rows(bit[None], k[None])
                return bit
            decide_chunk(head, const, from_image)
            return truth

        def from_stream(c, k, b):
            sink.check(sink.spend(len(k.ks) if isinstance(k, MixedPlane) else len(k)))
            if not isinstance(k, MixedPlane):
                return sink.ans().bits(k)
            bits = np.empty(len(k.ks), np.int64)
            for i in range(len(bits)):
                bits[i] = sink.ans().bits(k.k(i, int(k.ks[i]), int(k.lo[i])))
                k.learn(int(bits[i]))
            return bits
        return decide_chunk(head, const, from_stream)


ORACLE = Oracle()
