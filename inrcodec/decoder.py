"""The decoder: parse and check, rebuild the integer network, walk, verify.

Imports no torch. Work is bounded before it starts: the image must fit the
caller's pixel budget, and the coded data must be long enough for the
decisions the image needs (see DECISIONS_PER_BIT_LOG2, checked once the
constant-plane flags are read), so a tiny file cannot demand a long decode; a stream that runs out before the image is refused at
the first batch that finds it empty (the terminator guarantees a valid one
never does).
"""
from __future__ import annotations

import numpy as np

from . import container, kernel, priors
from .entropy import StreamReader
from .errors import FormatError, LimitError
from .limits import MIN_PIXEL_WORK, WORK_PER_FILE_BYTE
from .exact import check_weights
from .model import seeded_init
from .walker import Geometry, coded_decisions, decide_chunk, walk, walk_constants, walk_terminator
from .wire import SEEDED, Delta, Header, pixel_hash, read_delta_specs, swap_rb_in_place

# The work bound: a file may hold at most (8 * len(D) + STREAM_SLACK_BITS) <<
# DECISIONS_PER_BIT_LOG2 decisions. With P1 clamped to [2**-10, 1 - 2**-10]
# and the terminator keeping the ANS state above zero, every decision grows
# the state by at least 2**24 * 2**-10 while it is below 2**25, i.e. costs
# at least 1/1024 bit; the bound leaves a factor 2 of margin.
STREAM_SLACK_BITS = 64
DECISIONS_PER_BIT_LOG2 = 11


def min_file_bytes(pixels: int, cfg) -> int:
    """The shortest file allowed for an image with coded planes (limits.WORK_PER_FILE_BYTE)."""
    return -(-pixels * max(cfg.parameters(), MIN_PIXEL_WORK) // WORK_PER_FILE_BYTE)


def parse(data: bytes, prior=None):
    """Container, header and base weights of a file (prior: an extra Prior to match)."""
    box = container.read(data)
    header = Header.unpack(box.get(container.HEADER))
    if header.prior == SEEDED:
        base = seeded_init(header.cfg, header.seed)
        name = None
    else:
        p = priors.find(header.prior, [prior] if prior is not None else [])
        if p.cfg != header.cfg:
            raise FormatError("header architecture differs from its prior's")
        base, name = list(p.weights), p.name
    return box, header, base, name


class _StreamSink:
    """Decoder side of the walker: bits come from the ANS stream. With
    fast set, the coded planes are decoded by the compiled kernel, which
    takes over the stream's state after the constant-plane flags."""

    def __init__(self, stream: StreamReader, budget: int):
        self.stream, self.budget = stream, budget
        self.fast = False          # set once the constant-plane flags tell how much there is to do
        self.ans = None

    def raw(self, k, truth):
        k = np.asarray(k)
        if self.ans is not None:
            self._spend(k)
            return kernel.decode_bits(k, self.ans)
        return self._bits(k)

    def chunk(self, head, const, ys, xs):
        if not self.fast:
            return decide_chunk(head, const, lambda c, k, b: self._bits(k))
        if self.ans is None:
            self.ans = kernel.AnsState(self.stream.remaining_words())
        budget = np.array([self.budget], np.int64)
        values, err = kernel.decode_chunk(head, const, self.ans, budget)
        self.budget = int(budget[0])
        if err == kernel.EMPTY:
            raise FormatError(_ENDS_EARLY)
        if err == kernel.OVER_BUDGET:
            raise FormatError(_OVER_BUDGET)
        return values

    def empty(self) -> bool:
        return self.ans.empty() if self.ans is not None else self.stream.empty()

    def _spend(self, k) -> None:
        if np.size(k) and self.empty():
            raise FormatError(_ENDS_EARLY)
        self.budget -= np.size(k)
        if self.budget < 0:
            raise FormatError(_OVER_BUDGET)

    def _bits(self, k):
        self._spend(k)
        try:
            return self.stream.bits(k)
        except (ValueError, RuntimeError, OverflowError) as exc:
            raise FormatError(f"corrupt coded data ({type(exc).__name__})") from None


_ENDS_EARLY = "coded data ends before the image does (corrupt or truncated file)"
_OVER_BUDGET = "coded data is too short for the decisions it holds (corrupt file)"


def read_palette(box, header):
    """The file's Palette (checked against its header), or None."""
    raw = box.get(container.PALETTE)
    if raw is None:
        return None
    from .palette import Palette
    palette = Palette.unpack(raw)
    palette.check_header(header.image)
    return palette


def decode(data: bytes, *, max_pixels: int, prior=None, color_order=None) -> np.ndarray:
    """The image of a file; color_order None (the file's order), 'rgb' or 'bgr'."""
    box, header, base, _name = parse(data, prior)
    im, cfg = header.image, header.cfg
    palette = read_palette(box, header)
    if im.width * im.height > max_pixels:
        raise LimitError(f"image of {im.width}x{im.height} exceeds the decoding budget of "
                         f"{max_pixels} pixels (raise it with max_pixels= or --max-pixels)")
    coded = box.get(container.DATA)
    try:
        stream = StreamReader(coded)
        delta = Delta()
        delta_data = box.get(container.DELTA)
        if delta_data is not None:
            for s in read_delta_specs(delta_data, cfg):
                q = stream.ints(int(np.prod(cfg.shapes()[s.index])), s.k_nonzero, s.k_more)
                delta.tensors[s.index] = (s.exponent, q.reshape(cfg.shapes()[s.index]))
    except (ValueError, RuntimeError, OverflowError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"corrupt coded data ({type(exc).__name__})") from None
    weights = delta.apply(base)
    check_weights(cfg, weights)
    geom = Geometry(im.height, im.width, im.channels, im.bits, adaptive=box.version >= 3)
    # every decision decoded while the stream is not empty costs more than
    # 2**-12 bit; once it is empty, the rest decode as 0 without work
    sink = _StreamSink(stream, (8 * len(coded) + STREAM_SLACK_BITS) << DECISIONS_PER_BIT_LOG2)
    const = walk_constants(None, geom, sink)
    sink.fast = kernel.wanted(coded_decisions(geom, const))
    if (const < 0).any() and len(data) < min_file_bytes(im.width * im.height, cfg):
        raise FormatError(f"file of {len(data)} bytes is too short for a {im.width}x{im.height} image "
                          f"with coded planes under its network (work bound)")
    if coded_decisions(geom, const) > sink.budget:
        raise FormatError(f"coded data ({len(coded)} bytes) is too short for the "
                          f"{coded_decisions(geom, const)} decisions the image needs (corrupt file)")
    known = walk(geom, cfg, weights, const, sink)
    try:
        walk_terminator(sink)
    except ValueError:
        raise FormatError("coded stream does not end with its terminator (corrupt file)") from None
    if not sink.empty():
        raise FormatError("coded stream has data left over (corrupt file)")
    # at most one copy of the image besides the walker's: the 8-bit cast; the
    # channel swap is in place and the 2-D view of a 1-channel image is free
    out = known.astype(np.uint16 if im.wide else np.uint8, copy=False)
    if im.plain2d:
        out = out.reshape(im.height, im.width)
    rgb_now = False                      # the walker's values are in model order, B, G, R
    if palette is not None:
        out, im = palette.apply(out), palette.output_info(im.height, im.width)
        rgb_now = im.order == "rgb"
    colour = im.channels >= 3
    want_rgb = color_order == "rgb" or (color_order is None and im.order == "rgb")
    if colour and want_rgb != rgb_now:
        swap_rb_in_place(out)
    if pixel_hash(out, im, swapped=colour and want_rgb != (im.order == "rgb")) != header.pixels:
        raise FormatError("decoded pixels do not match the stored hash (corrupt file)")
    return np.ascontiguousarray(out)        # a copy only for a palette's 2-D view
