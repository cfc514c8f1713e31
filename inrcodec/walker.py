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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import exact
from .features import pixel_context
from .model import NetConfig
from .schedule import CHUNK, make_schedule

CONST_FLAG_K = 1 << 12          # P(a plane is constant) = 1/16
HALF_K = 1 << 15


@dataclass(frozen=True)
class Geometry:
    height: int
    width: int
    channels: int
    bits: int


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
    fixed = np.where(const >= 0, const, 0)                 # bits x C
    base = (fixed << np.arange(n)[:, None]).sum(axis=0)     # constant part of every value
    if (const >= 0).all():
        known[:] = base
        return known
    weights = exact.prepare(weights)
    pool = ThreadPoolExecutor(1) if h * w > CHUNK else None
    try:
        for p in make_schedule(h, w):
            chunks = list(p.chunks())

            def rows(ys, xs, p=p):
                return _rows(cfg, weights, known, p, ys, xs, n)

            def prepare(i, chunks=chunks):
                # features and trunk of a chunk read only earlier passes: computed
                # one chunk ahead in a second thread while this one is decoded
                return exact.Head(*rows(*chunks[i]), n)

            def prepare_now(i, chunks=chunks):
                # the first chunk of a pass has nothing to overlap with: split it
                # between the two threads instead (rows are independent)
                ys, xs = chunks[i]
                if pool is None or len(ys) < 1 << 12:
                    return prepare(i)
                half = len(ys) // 2
                other = pool.submit(rows, ys[half:], xs[half:])
                a = rows(ys[:half], xs[:half])
                b = other.result()
                return exact.Head(*(np.concatenate([u, v]) for u, v in zip(a, b)), n)

            ahead = None
            for i, (ys, xs) in enumerate(chunks):
                head = ahead.result() if ahead is not None else prepare_now(i)
                ahead = pool.submit(prepare, i + 1) if pool is not None and i + 1 < len(chunks) else None
                _decide(head, sink, const, known, ys, xs, C, n)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return known


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
    memory holds one chunk's decisions, not the image's."""
    h, w, C, n = geom.height, geom.width, geom.channels, geom.bits
    if (const >= 0).all():
        return
    weights = exact.prepare(weights)
    order = [(p, ys, xs) for p in make_schedule(h, w) for ys, xs in p.chunks()]
    for p, ys, xs in reversed(order):
        head = exact.Head(*_rows(cfg, weights, img3, p, ys, xs, n), n)
        sink = ImageSink(img3)
        _decide(head, sink, const, None, ys, xs, C, n)
        emit(sink.parts)


def _decide(head, sink, const, known, ys, xs, C: int, n: int) -> None:
    """Every decision of one chunk: channels in order, planes from the MSB."""
    for c in range(C):
        mu = head.mean(c)
        dist = head.distribution(c)
        lo = np.zeros(len(ys), np.int64)
        f_lo = np.zeros(len(ys), np.int64)
        f_hi = np.full(len(ys), exact.CDF_ONE, np.int64)
        for b in range(n - 1, -1, -1):
            mid = lo + (1 << b)
            f_mid = head.cdf(mid, mu, dist)
            if const[b, c] >= 0:
                bit = np.full(len(ys), const[b, c], bool)
            else:
                k = exact.bit_probability(f_lo, f_mid, f_hi)
                bit = sink.bits(k, ys, xs, c, b).astype(bool)
            np.copyto(lo, mid, where=bit)
            np.copyto(f_lo, f_mid, where=bit)
            np.copyto(f_hi, f_mid, where=~bit)
        if known is not None:
            known[ys, xs, c] = lo
        head.set_value(c, lo, mu)


class ImageSink:
    """Encoder side: the bits come from the image; records (bits, k) in order."""

    def __init__(self, img3: np.ndarray):
        self.img3 = img3
        self.parts = []

    def raw(self, k, truth):
        self._record(np.asarray(k), np.asarray(truth))
        return truth

    def bits(self, k, ys, xs, c, b):
        bit = (self.img3[ys, xs, c] >> b) & 1
        self._record(k, bit)
        return bit

    def _record(self, k, bit) -> None:
        self.parts.append((bit.astype(np.uint8), k.astype(np.uint16)))   # 3 bytes a decision


class CostSink(ImageSink):
    """Measures the code length of the decisions (bits), codes nothing."""

    def __init__(self, img3: np.ndarray):
        super().__init__(img3)
        self.cost = 0.0

    def _record(self, k, bit) -> None:
        self.cost += exact.bits_cost(k, bit)
