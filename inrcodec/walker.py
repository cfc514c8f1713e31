"""The one bitstream walker: the loop that encoder and decoder share.

It visits the bit-plane decisions in the order the format defines (passes,
then slices of at most CHUNK pixels, then channels in order, then planes
from the most significant) and asks a `sink` for each batch of bits given
their probabilities. The decoder's sink pops them from the ANS stream, the
encoder's reads them from the image and records them, the cost meter sums
their code length. After the last decision come two terminator decisions,
both 1 at P = 1/2 (`walk_terminator`): they keep the ANS state away from
zero until the end, so no decision is ever free and an exhausted stream is
an error at once. Because every side runs this same function, the
probabilities and the order cannot drift apart.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import exact, kernel
from .adapt import Adapt
from .features import pixel_context
from .model import NetConfig
from .schedule import CHUNK, make_schedule

WORKERS = 2                     # threads preparing chunks ahead (the machine's cores)
SLICE = 1 << 13                 # pixels a worker prepares at once
CONST_FLAG_K = 1 << 12          # P(a plane is constant) = 1/16
KEEP_DECISIONS = 1 << 25        # the encoder keeps up to 96 MiB of decisions rather than recompute them
HALF_K = 1 << 15


@dataclass(frozen=True)
class Geometry:
    height: int
    width: int
    channels: int
    bits: int
    adaptive: bool = True       # format 3's adaptive probabilities (adapt.py); False for format 2

    def tables(self):
        """A fresh adapt.Adapt for this image, or None (format 2)."""
        return Adapt(self.channels, self.bits) if self.adaptive else None


def constant_planes(img3: np.ndarray, bits: int) -> np.ndarray:
    """bits x C array: -1 where plane b of channel c varies, else its constant bit."""
    out = np.full((bits, img3.shape[2]), -1, np.int64)
    flat = img3.reshape(-1, img3.shape[2])
    for c in range(img3.shape[2]):
        v = flat[:, c]
        ones = np.bitwise_or.reduce(v)
        zeros = np.bitwise_or.reduce(~v & ((1 << bits) - 1))
        for b in range(bits):
            if not (ones >> b) & 1:
                out[b, c] = 0
            elif not (zeros >> b) & 1:
                out[b, c] = 1
    return out


def coded_decisions(geom: Geometry, const: np.ndarray) -> int:
    """How many bits the stream codes (planes that are not flagged constant)."""
    return int((const < 0).sum()) * geom.height * geom.width


def walk_constants(const_or_none, geom: Geometry, sink) -> np.ndarray:
    """Per plane (MSB first) and channel: a flag (P = 1/16) that the plane is
    constant, then, if it is, its bit (P = 1/2)."""
    out = np.full((geom.bits, geom.channels), -1, np.int64)
    for b in range(geom.bits - 1, -1, -1):
        truth = None if const_or_none is None else (const_or_none[b] >= 0).astype(np.int64)
        flags = sink.raw(np.full(geom.channels, CONST_FLAG_K), truth)
        idx = np.nonzero(flags)[0]
        vals = sink.raw(np.full(len(idx), HALF_K), None if truth is None else const_or_none[b, idx])
        out[b, idx] = vals
    return out


def walk_terminator(sink) -> None:
    """Two decisions, both 1, at P = 1/2: the last ones of every stream."""
    bits = sink.raw(np.full(2, HALF_K), np.ones(2, np.int64))
    if not np.all(bits == 1):
        raise ValueError("terminator")


def walk(geom: Geometry, cfg: NetConfig, weights: list, const: np.ndarray, sink) -> np.ndarray:
    """Run every decision of the image through `sink`; returns the H x W x C values."""
    h, w, C, n = geom.height, geom.width, geom.channels, geom.bits
    known = np.zeros((h, w, C), np.uint16)                # every value fits: n <= 16
    if (const >= 0).all():                                 # every plane constant: no decisions
        known[:] = (const << np.arange(n)[:, None]).sum(axis=0)
        return known
    weights = exact.prepare(weights)
    adapt = geom.tables()
    # Features and trunk of a chunk read only earlier passes, so they are
    # computed ahead, in slices, by two worker threads, while this thread
    # decides the chunk before (the kernels and BLAS release the GIL).
    pool = ThreadPoolExecutor(WORKERS) if h * w > CHUNK else None
    with contextlib.ExitStack() as stack:
        if pool is not None:
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            stack.enter_context(_one_blas_thread())
        for p in make_schedule(h, w):
            def submit(ys, xs, p=p):
                if pool is None:
                    return [_rows(cfg, weights, known, p, ys, xs, n)]
                return [pool.submit(_rows, cfg, weights, known, p, ys[s:s + SLICE], xs[s:s + SLICE], n)
                        for s in range(0, len(ys), SLICE)]

            chunks = p.chunks()
            ys, xs = next(chunks)
            ahead = submit(ys, xs)
            while ys is not None:
                parts = [f if pool is None else f.result() for f in ahead]
                following = next(chunks, (None, None))
                if following[0] is not None:
                    ahead = submit(*following)
                head = exact.Head(*(np.concatenate(x) if len(parts) > 1 else x[0] for x in zip(*parts)), n)
                head.adapt = adapt
                known[ys, xs] = sink.chunk(head, const, ys, xs)
                ys, xs = following
    return known


def _one_blas_thread():
    """BLAS kept to one thread while the workers run: two workers each
    calling a two-thread BLAS beside the deciding thread oversubscribe the
    cores (measured: 1.4 s against 1.1 s for a Kodak decode)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _rows(cfg: NetConfig, weights, known: np.ndarray, p, ys, xs, n: int):
    """Trunk outputs, anchors and shifts of pixels (ys, xs) of pass p: a Head's inputs."""
    ctx = pixel_context(known, p, ys, xs, n)
    return exact.trunk(cfg, weights, ctx.feats), ctx.anchor, ctx.shift


def walk_backward(geom: Geometry, cfg: NetConfig, weights: list, const: np.ndarray, img3: np.ndarray,
                  emit) -> None:
    """The encoder's walk for ANS, which codes last-decoded first: every chunk's
    decisions, chunks in reverse order, handed to `emit(parts)` (a chunk's
    (bits, k) pairs in forward order). The encoder knows the whole image, and a
    chunk reads only earlier passes, so each chunk is computed on its own and
    memory holds one chunk's decisions, not the image's. The adaptive tables
    a chunk starts from depend on every chunk before it, so a forward walk
    comes first: it keeps every chunk's decisions when they fit in
    KEEP_DECISIONS (3 bytes each), else a copy of the tables at each chunk's
    start (kilobytes), from which the backward walk computes the chunk again."""
    h, w, n = geom.height, geom.width, geom.bits
    if (const >= 0).all():
        return
    weights = exact.prepare(weights)
    fast = kernel.wanted(coded_decisions(geom, const))
    order = [(p, s) for p in make_schedule(h, w) for s in range(0, p.count, CHUNK)]

    def decisions(p, start, adapt):
        ys, xs = p.coords(start, min(start + CHUNK, p.count))
        head = exact.Head(*_rows(cfg, weights, img3, p, ys, xs, n), n)
        head.adapt = adapt
        sink = ImageSink(img3, fast)
        sink.chunk(head, const, ys, xs)
        return sink.parts

    adapt = geom.tables()
    if adapt is None:                         # format 2: chunks are independent
        for p, start in reversed(order):
            emit(decisions(p, start, None))
        return
    keep = coded_decisions(geom, const) <= KEEP_DECISIONS
    saved = []
    for p, start in order:
        if keep:
            saved.append(decisions(p, start, adapt))
        else:
            saved.append(adapt.copy())
            decisions(p, start, adapt)
    for i in range(len(order) - 1, -1, -1):
        emit(saved.pop() if keep else decisions(*order[i], saved.pop()))


def decide_chunk(head, const: np.ndarray, decide) -> np.ndarray:
    """Every decision of one chunk, the numpy path (kernel.py compiles the same
    loops; sinks call one or the other): channel by channel, each channel's
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
    """The numpy path of channel c's planes (kernel.py compiles the same
    loop): the value is narrowed to [lo, lo + 2**(b+1)) plane by plane, and
    `decide(k, b)` gives the bits of plane b's coded decisions, whose
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


class ImageSink:
    """Encoder side: the bits come from the image; records (bits, k) in order.
    With fast=True the compiled kernel computes a channel's decisions."""

    def __init__(self, img3: np.ndarray, fast: bool = False):
        self.img3 = img3
        self.fast = fast
        self.parts = []

    def raw(self, k, truth):
        self._record(np.asarray(k), np.asarray(truth))
        return truth

    def chunk(self, head, const, ys, xs):
        truth = self.img3[ys, xs]
        if not self.fast:
            return decide_chunk(head, const, lambda c, k, b: self._truth(k, truth[:, c], b))
        bits, ks = kernel.chunk_decisions(head, const, truth)
        for row in range(len(ks)):
            self._record(ks[row], bits[row])
        return truth

    def _truth(self, k, values, b):
        bit = (values >> b) & 1
        self._record(k, bit)
        return bit

    def _record(self, k, bit) -> None:
        self.parts.append((bit.astype(np.uint8), k.astype(np.uint16)))   # 3 bytes a decision


class CostSink(ImageSink):
    """Measures the code length of the decisions (bits), codes nothing."""

    def __init__(self, img3: np.ndarray, fast: bool = False):
        super().__init__(img3, fast)
        self.cost = 0.0

    def _record(self, k, bit) -> None:
        self.cost += exact.bits_cost(k, bit)
