"""The one bitstream walker: the stream's plan and the loop over every decision.

`stream_plan` lists the file's streams (formats 2-4: one; format 5: the
delta's, then one per group) with their segments in decoding order. The
decoder reads them forwards; ANS codes last-decoded first, so the encoder
writes each backwards, from the same plan.

`walk` visits the pixels' decisions in the order the format defines (passes,
then chunks of at most CHUNK pixels, then channels in order, then planes from
the most significant) and hands each chunk to a decision backend
(backend.COMPILED, or the tests' oracle.ORACLE) with a sink, from which the
backend takes the bits: ImageSink and CostSink read them from the image (the
encoder records them, the cost meter sums their code length), the decoder's
StreamSink pops them from the ANS stream. Because every side runs this same
loop, the probabilities and the order cannot drift apart.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import exact, interrupt, threads
from .adapt import Adapt
from .mixing import Mixer
from .backend import COMPILED
from .groups import Group, layout, whole
from .model import NetConfig
from .schedule import CHUNK, GRID, make_schedule
from .tables import HALF_K

SLICE = 1 << 13                 # pixels a worker prepares at once
CONST_FLAG_K = 1 << 12          # P(a plane is constant) = 1/16


# how the coder refines the network's probabilities, by format version
PLAIN, ADAPT, MIX, MIX_SSE, MIX_MATCH, MIX2, MIX_FINE = (      # 2, 3-4, 5-7, 8, 9-10, 11-12, 13
    "plain", "adapt", "mix", "mix-sse", "mix-match", "mix2", "mix-fine")
SSE_VERSION = 8                 # the first format with weight sets by activity and SSE
MATCH_VERSION = 9               # the first format with the match counter
MIX2_VERSION = 11               # the first with a second mixer and settled decisions
FINE_VERSION = 13               # the first with the pixel decisions clamped at 2**-13


def learner_kind(version: int) -> str:
    if version == 2:
        return PLAIN
    return (ADAPT if version in (3, 4) else MIX if version < SSE_VERSION else MIX_SSE if version < MATCH_VERSION
            else MIX_MATCH if version < MIX2_VERSION else MIX2 if version < FINE_VERSION else MIX_FINE)


@dataclass(frozen=True)
class Geometry:
    """What the walker needs of an image (or of one group of it): its size,
    channels, bits, and how the probabilities are refined (learner_kind)."""
    height: int
    width: int
    channels: int
    bits: int
    learner: str = MIX_FINE

    def tables(self):
        """The fresh learning state of this image: adapt.Adapt (formats 3-4),
        mixing.Mixer (formats 5-13) or None (format 2)."""
        if self.learner == ADAPT:
            return Adapt(self.channels, self.bits)
        if self.learner in (MIX, MIX_SSE, MIX_MATCH, MIX2, MIX_FINE):
            return Mixer(self.channels, self.bits, refined=self.learner != MIX,
                         matched=self.learner in (MIX_MATCH, MIX2), second=self.learner == MIX2,
                         fine=self.learner == MIX_FINE)
        return None


# -- the stream's plan ----------------------------------------------------------
DELTA, FLAGS, PIXELS, TERMINATOR = "delta", "flags", "pixels", "terminator"


@dataclass(frozen=True)
class Segment:
    kind: str                   # DELTA, FLAGS, PIXELS or TERMINATOR
    tensor: int = -1            # a DELTA segment's weight tensor


@dataclass(frozen=True)
class Stream:
    segments: list              # in decoding order
    group: Group = None         # the pixels its FLAGS and PIXELS code (None: it codes none)


def stream_plan(delta_tensors, height: int, width: int, group_size: tuple = ()) -> list:
    """The file's ANS streams, each with its segments in decoding order.
    Formats 2-4 (no group_size): one stream, each delta tensor's integers
    (ascending tensor index), the constant-plane flags, the pixels, the
    terminator. Format 5: the delta's stream (delta tensors, terminator) when
    there is a delta, then one stream per group (flags, pixels, terminator)."""
    delta = [Segment(DELTA, int(i)) for i in sorted(delta_tensors)]
    pixels = [Segment(FLAGS), Segment(PIXELS), Segment(TERMINATOR)]
    if not group_size:
        return [Stream(delta + pixels, whole(height, width))]
    return (([Stream(delta + [Segment(TERMINATOR)])] if delta else [])
            + [Stream(pixels, g) for g in layout(height, width, group_size)])


# -- constant planes and the terminator -------------------------------------------
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
    """Two decisions, both 1, at P = 1/2: the last ones of every stream. They keep
    the ANS state away from zero until the end, so no decision is ever free and
    an exhausted stream is an error at once."""
    bits = sink.raw(np.full(2, HALF_K), np.ones(2, np.int64))
    if not np.all(bits == 1):
        raise ValueError("terminator")


# -- the pixels ---------------------------------------------------------------------
def chunk_order(geom: Geometry, last_level: int = 0) -> list:
    """(pass, start) of every chunk, in decoding order; with last_level > 0 only the
    passes that make the pixels at multiples of 2**last_level (the grid and the
    passes of that level and above): a preview, every pixel a sample of the image."""
    return [(p, s) for p in make_schedule(geom.height, geom.width)
            if p.kind == GRID or p.level >= last_level for s in range(0, p.count, CHUNK)]


def reads_above(q, start: int, p, before: int) -> bool:
    """Whether chunk `start` of pass q reads no pixel of pass p at or after p's
    position `before` (nor of a later pass): every neighbour of its pixels lies
    in a row above p's pixel `before`. A neighbour is at most max |dy| rows from its
    pixel (mirroring turns an offset upwards, never further down), and p's pixels
    come in raster order. With q the pass after p, its chunk's rows can then be
    computed while p's chunk `before` is decided (two chunks of a large pass)."""
    if before == 0 or q.kind == GRID:
        return False
    last = min(start + CHUNK, q.count) - 1
    reach = int(np.abs(q.offsets[:, 0]).max())
    return int(q.coords(last, last + 1)[0][0]) + reach < int(p.coords(before, before + 1)[0][0])


def walk(geom: Geometry, cfg: NetConfig, weights: list, const: np.ndarray, sink,
         backend=COMPILED, known=None, dtype=np.uint16, last_level: int = 0, workers=None) -> np.ndarray:
    """Run every pixel decision of the image through `sink`; returns the H x W x C
    values. `known` may be given (the encoder: the image itself, whose earlier
    passes are what a decoder would know); else an array of `dtype` (the
    decoder: its output's, so the result needs no copy) is filled as decoded.
    last_level > 0 stops after the passes of chunk_order(geom, last_level).
    workers: threads preparing chunks ahead (default: the thread budget)."""
    h, w, C, n = geom.height, geom.width, geom.channels, geom.bits
    fill = known is None
    if fill:
        known = np.zeros((h, w, C), dtype)
    if (const >= 0).all():                                 # every plane constant: no decisions
        if fill:
            known[:] = (const << np.arange(n)[:, None]).sum(axis=0)
        return known
    weights = exact.prepare(weights, cfg)
    learner = geom.tables()
    # Features and trunk of a chunk read only earlier passes, so worker threads
    # compute them ahead, in slices, while this thread decides the chunk before
    # (the kernels and BLAS release the GIL). The pool has one thread fewer than
    # the budget: this thread computes slices too while it waits (ChunkRows.result),
    # and the decisions, which nothing else can run, never share a core.
    if workers is None:
        workers = threads.budget() if h * w > CHUNK else 1
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1:
            pool = ThreadPoolExecutor(workers - 1)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        if workers > 1 or h * w > SLICE:
            # one BLAS thread: a slice's products are too small to share, and BLAS threads
            # that wait spinning lose the cores to other processes (3x slower under load)
            stack.enter_context(threads.one_blas_thread())

        order = chunk_order(geom, last_level)

        def submit(p, start):
            return ChunkRows(cfg, weights, known, p, start, n, backend, pool)
        if not fill and h * w <= SLICE:
            # the encoder's small images: each chunk reads only the known image, so the
            # trunk runs once over all of them (a call a chunk: a tenth of an MNIST encode)
            made = iter(_rows_at_once(cfg, weights, known, order, n, backend))
            submit = lambda p, start: _Made(next(made))          # noqa: E731 - in order

        ahead = submit(*order[0])
        for i, (p, start) in enumerate(order):
            rows = ahead.result()
            nxt = order[i + 1] if i + 1 < len(order) else None
            # the next chunk's rows are made while this one is decided when it does not
            # read this chunk: the same pass (its pixels do not see each other), the
            # encoder (it knows every pixel), or a next pass whose first rows read only
            # rows of this pass above this chunk; otherwise once this chunk is known
            early = nxt is not None and (nxt[0] is p or not fill or reads_above(nxt[0], nxt[1], p, start))
            if early:
                ahead = submit(*nxt)
            ys, xs = p.coords(start, min(start + CHUNK, p.count))
            interrupt.check()                       # Ctrl-C between kernel calls only
            sink.begin_chunk(p, start, learner)
            values = backend.chunk(rows, n, const, learner, sink, ys, xs)
            if fill:
                known[ys, xs] = values
            if nxt is not None and not early:
                ahead = submit(*nxt)
            del rows, values                        # before the next chunk's are made (memory)
    return known


def walk_chunk(geom: Geometry, cfg: NetConfig, weights, const: np.ndarray, img3: np.ndarray, p, start: int,
               learner, sink, backend=COMPILED) -> None:
    """One chunk of the encoder's walk again, from the tables it started with
    (the encoder's way back through images too large to keep every decision)."""
    stop = min(start + CHUNK, p.count)
    ys, xs = p.coords(start, stop)
    rows = ChunkRows(cfg, exact.prepare(weights, cfg), img3, p, start, geom.bits, backend).result()
    backend.chunk(rows, geom.bits, const, learner, sink, ys, xs)


class ChunkRows:
    """The trunk outputs, anchors, shifts and mixing contexts of chunk `start` of
    pass p, computed a run of SLICE pixels at a time (by the pool's threads, or
    at once without one) into arrays of the chunk's size: the trunk's float
    temporaries stay a slice's size and no joined copy is made (memory)."""

    def __init__(self, cfg: NetConfig, weights, known: np.ndarray, p, start: int, n: int, backend, pool=None):
        stop = min(start + CHUNK, p.count)
        self.start, self.size, self.rows = start, stop - start, None
        self.lock = threading.Lock()
        args = (cfg, weights, known, p)
        runs = [(a, min(a + SLICE, stop)) for a in range(start, stop, SLICE)]

        def fill(a, b):
            self._fill(a, _rows(*args, a, b, n, backend))
        # without a pool the work waits for result(): a chunk computed ahead
        # would only hold its memory longer
        self.pending = [(functools.partial(fill, a, b), None if pool is None else pool.submit(fill, a, b))
                        for a, b in runs]

    def _fill(self, a: int, parts: tuple) -> None:
        if len(parts[0]) == self.size:        # the whole chunk in one slice: kept as it is
            self.rows = parts
            return
        with self.lock:
            if self.rows is None:
                self.rows = tuple(np.empty((self.size,) + x.shape[1:], x.dtype) for x in parts)
        for dst, src in zip(self.rows, parts):
            dst[a - self.start:a - self.start + len(src)] = src

    def result(self) -> tuple:
        # slices no worker has started are computed here (cancel() succeeds only
        # for those): the caller would otherwise wait with a core idle
        running = []
        for job, future in self.pending:
            if future is None or future.cancel():
                job()
            else:
                running.append(future)
        for future in running:
            future.result()
        self.pending = []
        return self.rows


class _Made:
    """Rows computed before the walk (ChunkRows' result)."""

    def __init__(self, rows: tuple):
        self.rows = rows

    def result(self) -> tuple:
        return self.rows


def _rows_at_once(cfg: NetConfig, weights, known: np.ndarray, order: list, n: int, backend) -> list:
    """_rows of every chunk in `order` of an image known in full, the trunk in one call
    (exact: its sums are integers whatever the rows around them)."""
    ctxs = [backend.features(known, p, *p.coords(start, min(start + CHUNK, p.count)), n, start)
            for p, start in order]
    out = backend.trunk(cfg, weights, np.concatenate([c.feats for c in ctxs]))
    ends = np.cumsum([len(c.feats) for c in ctxs]).tolist()
    return [(out[a:b], c.anchor, c.shift, c.mix, c.near) for c, a, b in zip(ctxs, [0] + ends[:-1], ends)]


def _rows(cfg: NetConfig, weights, known: np.ndarray, p, start: int, stop: int, n: int, backend):
    """Trunk outputs, anchors, shifts, mixing contexts and nearest values of the run [start, stop)
    of pass p."""
    ys, xs = p.coords(start, stop)
    ctx = backend.features(known, p, ys, xs, n, start)
    return backend.trunk(cfg, weights, ctx.feats), ctx.anchor, ctx.shift, ctx.mix, ctx.near


def image_rows(img3: np.ndarray, bits: int, keep: float = 1.0, rng=None, backend=COMPILED):
    """Every pixel's features and values, as the decoder will see them (fitting
    and prior training). Features of the whole image are the decoder's: a pass
    reads only earlier passes. With keep < 1 a random fraction of the pixels is
    taken. Returns (feats N x F int32, anchor N x C, shift N, values N x C, bits N)."""
    h, w, c = img3.shape
    picks = []                       # the rows of every chunk first: then one array each, filled
    for p, start in chunk_order(Geometry(h, w, c, bits)):
        ys, xs = p.coords(start, min(start + CHUNK, p.count))
        run = start
        if keep < 1:
            sel = rng.random(len(ys)) < keep
            ys, xs, run = ys[sel], xs[sel], None
            if not len(ys):
                continue
        picks.append((p, ys, xs, run))
    if not picks:
        raise ValueError("no pixel sampled")
    n = sum(len(ys) for _, ys, _, _ in picks)
    starts = np.cumsum([0] + [len(ys) for _, ys, _, _ in picks])
    first = backend.features(img3, *picks[0][:3], bits, picks[0][3])
    out = (np.empty((n, first.feats.shape[1]), np.int32), np.empty((n, c), np.int32),
           np.empty(n, np.int8), np.empty((n, c), np.int32))

    def fill(i, ctx=None):
        p, ys, xs, run = picks[i]
        if ctx is None:
            ctx = backend.features(img3, p, ys, xs, bits, run)
        for dst, src in zip(out, (ctx.feats, ctx.anchor, ctx.shift, img3[ys, xs])):
            dst[starts[i]:starts[i + 1]] = src
    # the chunks side by side on the thread budget (the kernel releases the GIL): kodim05's
    # every-layer fit waited 0.10-0.45 s for them on one thread, mostly first touches of
    # memory, and 0.06 s on two
    fill(0, first)
    threads.map_ordered(fill, list(range(1, len(picks))))
    return (*out, np.full(n, bits, np.int8))


# -- the encoder's sinks --------------------------------------------------------------
class ImageSink:
    """Encoder side: the bits come from the image; records (bits, k) in decoding order."""
    from_image = True

    def __init__(self, img3: np.ndarray):
        self.img3 = img3
        self.parts = []

    def raw(self, k, truth):
        self._record(np.asarray(k), np.asarray(truth))
        return truth

    def begin_chunk(self, p, start, learner) -> None:
        pass

    def truth(self, ys, xs) -> np.ndarray:
        return self.img3[ys, xs]

    def record_rows(self, bit_rows, k_rows) -> None:
        for bit, k in zip(bit_rows, k_rows):
            self._record(k, bit)

    def _record(self, k, bit) -> None:
        self.parts.append((bit.astype(np.uint8), k.astype(np.uint16)))   # 3 bytes a decision


class CostSink(ImageSink):
    """Measures the code length of the decisions (bits), codes nothing."""

    def __init__(self, img3: np.ndarray):
        super().__init__(img3)
        self.cost = 0.0

    def record_rows(self, bit_rows, k_rows) -> None:
        # a chunk's rows at once (a call a row took a fifth of an MNIST encode); each row's sum
        # is the one bits_cost gives, and they are added in the same order
        for row_bits in exact.decision_bits(k_rows, bit_rows).sum(axis=1).tolist():
            self.cost += row_bits

    def _record(self, k, bit) -> None:
        self.cost += exact.bits_cost(k, bit)


class TableSink(ImageSink):
    """Keeps only the learning state each chunk starts from (a copy)
    and drops the decisions: the encoder's forward walk over an image with too
    many decisions to keep (walk_chunk computes each chunk again from these)."""

    def __init__(self, img3: np.ndarray):
        super().__init__(img3)
        self.starts = []

    def begin_chunk(self, p, start, learner) -> None:
        self.starts.append((p, start, None if learner is None else learner.copy()))

    def _record(self, k, bit) -> None:
        pass
